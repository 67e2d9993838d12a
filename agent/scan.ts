import { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { mapLimited } from '../kernel/map-limited';
import { describeIoError, SourceFileError } from './errors';
import { Category, CategoryInventory } from './operations';
import { joinPath, sourcePathOf } from './source-names';

/** The folders of a PBX's local storage and what each holds (contract README, "Layout"). */
/** Which of them move is the server's to say (rule 4; a migration's categories): the agent counts all four. */
export const CATEGORY_FOLDERS: readonly { folder: string; category: Category }[] = [
  { folder: 'recordings', category: 'CALL_RECORDINGS' },
  { folder: 'backups', category: 'BACKUPS' },
  { folder: 'voicemails', category: 'VOICEMAILS' },
  { folder: 'faxes', category: 'FAXES' },
];

/** The agent's own folder inside the source tree (lock, state): never migrated, never counted. */
export const AGENT_FOLDER = '.cds-agent';
const AGENT_FOLDER_NAME = Buffer.from(AGENT_FOLDER);

/** `.wav`/`.mp3` in any case, tested on the name's last bytes (its extension is ASCII even when the rest is not UTF-8). */
const RECORDING_AUDIO = /\.(wav|mp3)$/i;
const SIDECAR_EXTENSION = Buffer.from('.json');
/** Files a directory's stats are fetched for at once: enough to keep the disk busy, few enough for the fd limit. */
const STAT_CONCURRENCY = 64;

/** One file that moves into CDS. */
export interface SourceItem {
  category: Category;
  /** Relative to the source root, '/'-separated: recordings/2024/05/call-1.wav */
  sourcePath: string;
  /** File-system paths are bytes: a name need not be valid UTF-8 (agent/source-names.ts). */
  absPath: Buffer;
  sizeBytes: number;
  mtimeMs: number;
  /** For recordings: the sidecar NAME.json next to it, when there is one. */
  sidecarPath: Buffer | null;
  /** Set when the scan could not even stat the file: the copy then fails naming it. */
  unreadable: string | null;
}

export interface ScanResult {
  /** Every file found, recordings first, each folder in name order (what moves, the migration says). */
  items: SourceItem[];
  /** Per category, what was found (moving or not): the migration's inventory. */
  inventory: CategoryInventory[];
  /** Entries left alone (not a recording, a socket, a directory symlink), for one summary line. */
  skipped: { sourcePath: string; reason: string }[];
}

/**
 * Walks the four category folders under `root` with `readdir` (entry types
 * come with the listing, so only files are stat'ed, for their size and
 * modification time). Recordings are `*.wav`/`*.mp3`; a `NAME.json` next to
 * one is its sidecar, read later when the recording is registered.
 */
export async function scanSource(root: string): Promise<ScanResult> {
  const items: SourceItem[] = [];
  const inventory: CategoryInventory[] = [];
  const skipped: ScanResult['skipped'] = [];
  const rootPath = sourceRoot(root);
  for (const { folder, category } of CATEGORY_FOLDERS) {
    const totals: CategoryInventory = { category, itemsTotal: 0, bytesTotal: 0 };
    inventory.push(totals);
    const top = joinPath(rootPath, Buffer.from(folder));
    // The category folder itself must be a real directory inside DIR, not a link out of it.
    const top_ = await lstat(top).catch(() => null);
    if (!top_) continue;
    if (!top_.isDirectory()) {
      skipped.push({
        sourcePath: folder,
        reason: top_.isSymbolicLink() ? 'a symbolic link (not followed out of the source tree)' : 'not a directory',
      });
      continue;
    }
    await walk(rootPath, top, async (dir, entries) => {
      // Keyed by the names' bytes in hex: a Set of Buffers would compare them by identity.
      const names = new Set(entries.map((e) => e.name.toString('hex')));
      const sidecarNames = new Set(entries.flatMap((e) => sidecarOf(e.name)?.toString('hex') ?? []));
      const files: { entry: Dirent<Buffer>; sidecar: Buffer | null }[] = [];
      for (const entry of entries) {
        const rel = sourcePathOf(rootPath, joinPath(dir, entry.name));
        if (entry.isSymbolicLink()) {
          // Never followed: a link could lead anywhere outside DIR (/etc/passwd), so it is reported, not migrated.
          skipped.push({ sourcePath: rel, reason: 'a symbolic link (not followed out of the source tree)' });
          continue;
        }
        if (!entry.isFile()) {
          if (!entry.isDirectory()) skipped.push({ sourcePath: rel, reason: 'not a regular file (a device, socket or pipe)' });
          continue;
        }
        if (category === 'CALL_RECORDINGS') {
          const sidecar = sidecarOf(entry.name);
          if (!sidecar) {
            // Sidecars travel with their recording; anything else under recordings/ is not a recording.
            if (!sidecarNames.has(entry.name.toString('hex'))) skipped.push({ sourcePath: rel, reason: 'not a .wav or .mp3 recording' });
            continue;
          }
          files.push({ entry, sidecar: names.has(sidecar.toString('hex')) ? joinPath(dir, sidecar) : null });
        } else {
          files.push({ entry, sidecar: null });
        }
      }
      const found = await mapLimited(files, STAT_CONCURRENCY, async ({ entry, sidecar }) => {
        const absPath = joinPath(dir, entry.name);
        const sourcePath = sourcePathOf(rootPath, absPath);
        try {
          // lstat: what is there now, never what a link points at (the file is opened with O_NOFOLLOW later, too).
          const s = await lstat(absPath);
          if (!s.isFile()) {
            skipped.push({ sourcePath, reason: 'not a regular file' });
            return null;
          }
          return {
            category,
            sourcePath,
            absPath,
            sizeBytes: s.size,
            mtimeMs: s.mtimeMs,
            sidecarPath: sidecar,
            unreadable: null,
          } satisfies SourceItem;
        } catch (error) {
          return {
            category,
            sourcePath,
            absPath,
            sizeBytes: 0,
            mtimeMs: 0,
            sidecarPath: sidecar,
            unreadable: `could not be read: ${describeIoError(error)}`,
          } satisfies SourceItem;
        }
      });
      for (const item of found) {
        if (!item) continue;
        totals.itemsTotal += 1;
        totals.bytesTotal += item.sizeBytes;
        items.push(item);
      }
    });
  }
  return { items, inventory, skipped };
}

/**
 * Depth-first, entries of each directory in name order (of their bytes), so
 * runs see files in the same order. Names are listed as bytes: decoded to
 * UTF-8 here, one that is not valid UTF-8 would name a file that is not there.
 */
async function walk(root: Buffer, dir: Buffer, visit: (dir: Buffer, entries: Dirent<Buffer>[]) => Promise<void>): Promise<void> {
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    throw new SourceFileError(sourcePathOf(root, dir), `the folder could not be listed: ${describeIoError(error)}`);
  }
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  await visit(dir, entries);
  for (const entry of entries) {
    if (entry.isDirectory() && !entry.name.equals(AGENT_FOLDER_NAME)) await walk(root, joinPath(dir, entry.name), visit);
  }
}

/**
 * The sidecar of a recording (`NAME.wav` -> `NAME.json`, a name or a whole
 * path), or null when it is not a recording. On bytes: latin1 gives one
 * character per byte, so the test sees the name's very bytes.
 */
export function sidecarOf(recording: Buffer): Buffer | null {
  const audio = RECORDING_AUDIO.exec(recording.toString('latin1', Math.max(0, recording.length - 4)));
  return audio ? Buffer.concat([recording.subarray(0, recording.length - audio[0].length), SIDECAR_EXTENSION]) : null;
}

/** The source root as the bytes every scanned path starts with. */
export const sourceRoot = (root: string): Buffer => Buffer.from(path.resolve(root));
