import { Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import path from 'node:path';
import { mapLimited } from '../kernel/map-limited';
import { describeIoError, SourceFileError } from './errors';
import { Category, CategoryInventory } from './operations';

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

const RECORDING_AUDIO = /\.(wav|mp3)$/i;
/** Files a directory's stats are fetched for at once: enough to keep the disk busy, few enough for the fd limit. */
const STAT_CONCURRENCY = 64;

/** One file that moves into CDS. */
export interface SourceItem {
  category: Category;
  /** Relative to the source root, '/'-separated: recordings/2024/05/call-1.wav */
  sourcePath: string;
  absPath: string;
  sizeBytes: number;
  mtimeMs: number;
  /** For recordings: the sidecar NAME.json next to it, when there is one. */
  sidecarPath: string | null;
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
 * Walks the four category folders under `root` with `opendir` (entry types
 * come with the listing, so only files are stat'ed, for their size and
 * modification time). Recordings are `*.wav`/`*.mp3`; a `NAME.json` next to
 * one is its sidecar, read later when the recording is registered.
 */
export async function scanSource(root: string): Promise<ScanResult> {
  const items: SourceItem[] = [];
  const inventory: CategoryInventory[] = [];
  const skipped: ScanResult['skipped'] = [];
  for (const { folder, category } of CATEGORY_FOLDERS) {
    const totals: CategoryInventory = { category, itemsTotal: 0, bytesTotal: 0 };
    inventory.push(totals);
    const top = path.join(root, folder);
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
    await walk(root, top, async (dir, entries) => {
      const names = new Set(entries.map((e) => e.name));
      const recordingNames = new Set(entries.filter((e) => RECORDING_AUDIO.test(e.name)).map((e) => e.name.replace(RECORDING_AUDIO, '')));
      const files: { entry: Dirent; sidecar: string | null }[] = [];
      for (const entry of entries) {
        const rel = relative(root, path.join(dir, entry.name));
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
          if (!RECORDING_AUDIO.test(entry.name)) {
            // Sidecars travel with their recording; anything else under recordings/ is not a recording.
            const isSidecar = /\.json$/.test(entry.name) && recordingNames.has(entry.name.slice(0, -'.json'.length));
            if (!isSidecar) skipped.push({ sourcePath: rel, reason: 'not a .wav or .mp3 recording' });
            continue;
          }
          const sidecar = `${entry.name.replace(RECORDING_AUDIO, '')}.json`;
          files.push({ entry, sidecar: names.has(sidecar) ? path.join(dir, sidecar) : null });
        } else {
          files.push({ entry, sidecar: null });
        }
      }
      const found = await mapLimited(files, STAT_CONCURRENCY, async ({ entry, sidecar }) => {
        const absPath = path.join(dir, entry.name);
        const sourcePath = relative(root, absPath);
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

/** Depth-first, entries of each directory in name order, so runs see files in the same order. */
async function walk(root: string, dir: string, visit: (dir: string, entries: Dirent[]) => Promise<void>): Promise<void> {
  const entries: Dirent[] = [];
  try {
    const handle = await opendir(dir, { bufferSize: 256 });
    for await (const entry of handle) entries.push(entry);
  } catch (error) {
    throw new SourceFileError(relative(root, dir), `the folder could not be listed: ${describeIoError(error)}`);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await visit(dir, entries);
  for (const entry of entries) {
    if (entry.isDirectory() && entry.name !== AGENT_FOLDER) await walk(root, path.join(dir, entry.name), visit);
  }
}

/** A path relative to the source root with '/' separators, as the server and object keys expect. */
export function relative(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}
