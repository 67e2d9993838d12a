import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const BOARD_DIR = path.join(__dirname, '..', '..', 'board');
export const BOARD_DIST = path.join(BOARD_DIR, 'dist');

function newestChange(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(file) : fs.statSync(file).mtimeMs);
  }
  return newest;
}

/** Builds board/dist when it is missing or older than the board's sources, so the tests never test a stale build. */
export function ensureBoardBuilt(): void {
  const index = path.join(BOARD_DIST, 'index.html');
  if (fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestChange(BOARD_DIR)) return;
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'build-board.js')], { stdio: 'pipe' });
}

/** The board's own operations (board/src/operations/*.graphql). */
export function boardOperations(): { file: string; source: string }[] {
  const dir = path.join(BOARD_DIR, 'src', 'operations');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((file) => ({ file, source: fs.readFileSync(path.join(dir, file), 'utf8') }));
}
