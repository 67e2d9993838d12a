// Summarizes a V8 .cpuprofile (node --cpu-prof): self time by package / file and the top functions.
//   node bench/dashboard/profile-summary.cjs <file.cpuprofile> [top] [skip seconds: leave out start-up]
// Idle time is left out of the total.
'use strict';
const fs = require('node:fs');
const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
const skipUs = Number(process.argv[4] ?? 0) * 1e6;
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const deltas = profile.timeDeltas;
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  at += deltas[i] ?? 0;
  if (at < skipUs || byId.get(profile.samples[i]).callFrame.functionName === '(idle)') continue;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const groupOf = (url) => {
  if (!url) return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '').replace(/^.*\/wt-12\//, '');
};
const groups = new Map();
const fns = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const g = n.callFrame.functionName === '(garbage collector)' ? '(gc)' : groupOf(n.callFrame.url);
  groups.set(g, (groups.get(g) ?? 0) + t);
  const f = `${n.callFrame.functionName || '(anon)'} ${groupOf(n.callFrame.url)}:${n.callFrame.lineNumber}`;
  fns.set(f, (fns.get(f) ?? 0) + t);
}
const show = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled (not idle)\n-- by package/file --\n${show(groups)}\n-- top functions --\n${show(fns)}`,
);
