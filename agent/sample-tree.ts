import { randomBytes } from 'node:crypto';
import { mkdir, open, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Generates a PBX's local storage tree as the agent reads it (recordings
 * with sidecars, backups, voicemails, faxes), for the demo
 * (`npm run demo:migration`), the benchmark and the tests. Content is
 * pseudo-random so every file has its own checksum.
 */
export interface SampleTreeSpec {
  recordings: number;
  /** Size of each recording; default 8-40 kB. */
  recordingBytes?: number | { min: number; max: number };
  /** Every n-th recording has no sidecar (its start is then the file's mtime); default 10; 0 = all have one. */
  withoutSidecarEvery?: number;
  /** Recordings per folder (recordings/<yyyy>/<mm>/<dd>/); default 100. */
  recordingsPerFolder?: number;
  backups?: { count: number; bytes: number };
  voicemails?: number;
  faxes?: number;
  /** The newest recording's start; older ones go back 7 minutes each. Default: now. */
  newest?: Date;
}

export interface SampleRecording {
  sourcePath: string;
  sizeBytes: number;
  sidecar: { callId: string; startedAt: string; durationSeconds: number; caller: string; callee: string } | null;
  /** Without a sidecar, the file's modification time (what the agent reports as startedAt). */
  mtime: Date;
}

export interface SampleTree {
  root: string;
  recordings: SampleRecording[];
  backups: { sourcePath: string; sizeBytes: number }[];
  voicemails: { items: number; bytes: number };
  faxes: { items: number; bytes: number };
}

const CHUNK = 8 * 1024 * 1024;

export async function generateSampleTree(root: string, spec: SampleTreeSpec): Promise<SampleTree> {
  const newest = (spec.newest ?? new Date()).getTime();
  const perFolder = spec.recordingsPerFolder ?? 100;
  const noSidecarEvery = spec.withoutSidecarEvery ?? 10;
  const size = (i: number) => {
    const s = spec.recordingBytes ?? { min: 8_000, max: 40_000 };
    return typeof s === 'number' ? s : s.min + ((i * 7919) % Math.max(1, s.max - s.min));
  };
  const tree: SampleTree = { root, recordings: [], backups: [], voicemails: { items: 0, bytes: 0 }, faxes: { items: 0, bytes: 0 } };
  const writes: Promise<void>[] = [];
  const flush = async () => {
    await Promise.all(writes.splice(0));
  };

  for (let i = 0; i < spec.recordings; i++) {
    const started = new Date(newest - i * 7 * 60_000);
    const day = started.toISOString().slice(0, 10).split('-');
    const folder = path.join(root, 'recordings', day[0], day[1], day[2], `part-${Math.floor(i / perFolder)}`);
    const name = `call-${String(i + 1).padStart(6, '0')}`;
    const sourcePath = ['recordings', day[0], day[1], day[2], `part-${Math.floor(i / perFolder)}`, `${name}.wav`].join('/');
    const bytes = size(i);
    const withSidecar = !(noSidecarEvery > 0 && i % noSidecarEvery === noSidecarEvery - 1);
    const sidecar = withSidecar
      ? {
          callId: `call-${(0x10000000 + i).toString(16)}-${randomBytes(4).toString('hex')}`,
          startedAt: started.toISOString(),
          durationSeconds: 5 + (i % 600),
          caller: `+3902${String(1000000 + ((i * 37) % 9000000))}`,
          callee: `${200 + (i % 50)}`,
        }
      : null;
    tree.recordings.push({ sourcePath, sizeBytes: bytes, sidecar, mtime: started });
    writes.push(
      (async () => {
        await mkdir(folder, { recursive: true });
        const file = path.join(folder, `${name}.wav`);
        await writeFile(file, wav(bytes));
        if (sidecar) await writeFile(path.join(folder, `${name}.json`), `${JSON.stringify(sidecar, null, 2)}\n`);
        await utimes(file, started, started);
      })(),
    );
    if (writes.length >= 64) await flush();
  }
  await flush();

  for (let i = 0; i < (spec.backups?.count ?? 0); i++) {
    const sourcePath = `backups/${new Date(newest - i * 86_400_000).toISOString().slice(0, 10)}/pbx-backup-${i + 1}.tar.gz`;
    const bytes = spec.backups!.bytes;
    await writeLargeFile(path.join(root, ...sourcePath.split('/')), bytes);
    tree.backups.push({ sourcePath, sizeBytes: bytes });
  }

  for (let i = 0; i < (spec.voicemails ?? 0); i++) {
    const bytes = 4_000 + (i % 13) * 1_000;
    const file = path.join(root, 'voicemails', `${100 + (i % 10)}`, `msg-${String(i + 1).padStart(4, '0')}.wav`);
    writes.push(mkdir(path.dirname(file), { recursive: true }).then(() => writeFile(file, wav(bytes))));
    tree.voicemails.items += 1;
    tree.voicemails.bytes += bytes;
  }
  for (let i = 0; i < (spec.faxes ?? 0); i++) {
    const bytes = 20_000 + (i % 7) * 3_000;
    const file = path.join(root, 'faxes', `fax-${String(i + 1).padStart(4, '0')}.pdf`);
    writes.push(
      mkdir(path.dirname(file), { recursive: true }).then(() =>
        writeFile(file, Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(bytes - 9)])),
      ),
    );
    tree.faxes.items += 1;
    tree.faxes.bytes += bytes;
  }
  await flush();
  return tree;
}

/** A WAV header (8 kHz mono, 8-bit) and noise, `bytes` long in all. */
function wav(bytes: number): Buffer {
  const data = Math.max(0, bytes - 44);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36);
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, randomBytes(data)]).subarray(0, bytes);
}

/** Streams `bytes` of pseudo-random data to a file without holding it in memory. */
export async function writeLargeFile(file: string, bytes: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const block = randomBytes(Math.min(CHUNK, Math.max(1, bytes)));
  const handle = await open(file, 'w');
  try {
    let written = 0;
    let n = 0;
    while (written < bytes) {
      // A counter in each chunk keeps chunks distinct, so no two files or chunks hash alike.
      block.writeUInt32LE(n++, 0);
      block.writeUInt32LE(bytes >>> 0, 4);
      const len = Math.min(block.length, bytes - written);
      await handle.write(block, 0, len, written);
      written += len;
    }
  } finally {
    await handle.close();
  }
}
