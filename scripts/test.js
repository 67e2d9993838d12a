#!/usr/bin/env node
// `npm test`: every test, twice — against MariaDB with Redis Streams between the
// subgraphs, and against the embedded database with the in-process bus.
// TEST_DB=sqlite or TEST_DB=mysql runs one pass only; extra arguments go to jest.
'use strict';
const { spawnSync } = require('node:child_process');
const net = require('node:net');

const passes = process.env.TEST_DB ? [process.env.TEST_DB] : ['mysql', 'sqlite'];
const jestArgs = process.argv.slice(2);

function reachable(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

(async () => {
  if (passes.includes('mysql')) {
    const missing = [];
    if (!(await reachable('127.0.0.1', 3306))) missing.push('MariaDB/MySQL on 127.0.0.1:3306 (root, no password)');
    if (!(await reachable('127.0.0.1', 6379))) missing.push('Redis on 127.0.0.1:6379');
    if (missing.length) {
      console.error(
        `The MariaDB pass needs ${missing.join(' and ')}.\nStart them (see README), or run only the embedded pass: TEST_DB=sqlite npm test`,
      );
      process.exit(1);
    }
  }
  let failed = false;
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  for (const db of passes) {
    console.log(`\n=== tests on ${db === 'mysql' ? 'MariaDB + Redis Streams' : 'embedded SQLite + in-process bus'} ===`);
    const report = path.join(os.tmpdir(), `cds-graph-jest-${process.pid}-${db}.json`);
    const run = spawnSync(
      process.execPath,
      [require.resolve('jest/bin/jest'), '--runInBand', '--json', `--outputFile=${report}`, ...jestArgs],
      {
        stdio: 'inherit',
        env: { ...process.env, TEST_DB: db },
      },
    );
    if (run.status !== 0) failed = true;
    try {
      const results = JSON.parse(fs.readFileSync(report, 'utf8'));
      totals.passed += results.numPassedTests;
      totals.failed += results.numFailedTests + results.numRuntimeErrorTestSuites;
      totals.skipped += results.numPendingTests;
      fs.rmSync(report, { force: true });
    } catch {
      totals.failed += 1; // no report: the run itself broke
    }
  }
  // One closing line for both passes (CI reads it).
  console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(failed || totals.failed ? 1 : 0);
})();
