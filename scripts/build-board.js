#!/usr/bin/env node
// Builds the CDS board (board/, Vite) into board/dist, which the gateway serves at /board/.
// Runs from `npm install` (prepare), `npm run build` and so `npm start`; needs no network.
// Skipped, with a note, where there is nothing to build: no board sources yet (a Docker layer
// that copied only package.json) or no Vite (an install without devDependencies).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const config = path.join(root, 'board', 'vite.config.mts');
if (!fs.existsSync(config)) {
  console.log('board: no sources here yet (board/vite.config.mts); not built');
  process.exit(0);
}
let vite;
try {
  // vite's "exports" hide bin/; its package.json is always resolvable.
  const manifest = require.resolve('vite/package.json', { paths: [root] });
  vite = path.join(path.dirname(manifest), require(manifest).bin.vite);
} catch {
  console.log('board: Vite is not installed (devDependencies omitted); not built');
  process.exit(0);
}
const run = spawnSync(process.execPath, [vite, 'build', '--config', config], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) {
  console.error('board: the build failed (see above)');
  process.exit(run.status ?? 1);
}
