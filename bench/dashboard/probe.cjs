/* global performance */
// Preloaded (node -r) into each subgraph process by the benchmark only: counts the
// /graphql requests the process serves and, while recording, when each began and
// ended (wall clock, ms), so the driver can tell subgraph time from gateway time.
// GET /__bench/probe answers { count, spans } and clears spans; ?record=1|0 toggles;
// /__bench/exit exits (PROFILE runs).
'use strict';
const http = require('node:http');
let count = 0;
let recording = false;
let spans = [];
const now = () => performance.timeOrigin + performance.now();
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request') {
    if (req.url === '/__bench/exit') {
      // PROFILE runs: a normal exit, so that --cpu-prof writes the profile.
      res.end('bye', () => process.exit(0));
      return true;
    }
    if (req.url.startsWith('/__bench/probe')) {
      const record = /record=(\d)/.exec(req.url);
      if (record) recording = record[1] === '1';
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ count, spans }));
      spans = [];
      return true;
    }
    if (req.url.startsWith('/graphql')) {
      count++;
      if (recording) {
        const start = now();
        res.once('finish', () => spans.push([start, now()]));
      }
    }
  }
  return emit.apply(this, arguments);
};
