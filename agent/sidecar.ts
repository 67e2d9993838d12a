import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { describeIoError, SourceFileError } from './errors';
import { SourceItem } from './scan';

/** What the recordings subgraph keeps of a call besides the file. */
export interface RecordingMetadata {
  callId: string | null;
  startedAt: string;
  durationSeconds: number;
  caller: string | null;
  callee: string | null;
}

/** The server's limit on callId, caller and callee. */
const MAX_TEXT = 255;
const MAX_SIDECAR_BYTES = 64 * 1024;

/**
 * A recording's metadata from its sidecar `NAME.json`
 * (`{"callId","startedAt","durationSeconds","caller","callee"}`); without one,
 * the call started at the file's modification time and the rest is empty.
 * A sidecar that cannot be read or makes no sense fails the migration naming
 * it: registering the recording without it would lose the call's metadata.
 */
export async function recordingMetadata(item: SourceItem, sidecarSourcePath: string | null): Promise<RecordingMetadata> {
  // Rounded: a time set to the millisecond often reads back a nanosecond short of it.
  const fallback: RecordingMetadata = {
    callId: null,
    startedAt: new Date(Math.round(item.mtimeMs)).toISOString(),
    durationSeconds: 0,
    caller: null,
    callee: null,
  };
  if (!item.sidecarPath || !sidecarSourcePath) return fallback;
  const where = sidecarSourcePath;
  let raw: Buffer;
  try {
    // Never through a symbolic link: a sidecar is read from inside DIR only.
    const handle = await open(item.sidecarPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      raw = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback; // removed since the scan: as if it never was
    throw new SourceFileError(where, `the sidecar could not be read: ${describeIoError(error)}`);
  }
  if (raw.length > MAX_SIDECAR_BYTES) throw new SourceFileError(where, `the sidecar is ${raw.length} bytes; a sidecar holds a few fields`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new SourceFileError(where, `the sidecar is not valid JSON (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SourceFileError(where, 'the sidecar is not a JSON object');
  const fields = parsed as Record<string, unknown>;

  const text = (name: string): string | null => {
    const value = fields[name];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' && typeof value !== 'number') throw new SourceFileError(where, `"${name}" must be a string`);
    const s = String(value).trim();
    if (s.length > MAX_TEXT) throw new SourceFileError(where, `"${name}" is longer than ${MAX_TEXT} characters`);
    return s || null;
  };

  let startedAt = fallback.startedAt;
  if (fields.startedAt !== undefined && fields.startedAt !== null && fields.startedAt !== '') {
    const ms = typeof fields.startedAt === 'string' || typeof fields.startedAt === 'number' ? new Date(fields.startedAt).getTime() : NaN;
    if (Number.isNaN(ms)) throw new SourceFileError(where, `"startedAt" is not an ISO-8601 instant (${JSON.stringify(fields.startedAt)})`);
    startedAt = new Date(ms).toISOString();
  }

  let durationSeconds = 0;
  if (fields.durationSeconds !== undefined && fields.durationSeconds !== null && fields.durationSeconds !== '') {
    const n =
      typeof fields.durationSeconds === 'number'
        ? fields.durationSeconds
        : typeof fields.durationSeconds === 'string'
          ? Number(fields.durationSeconds)
          : NaN;
    if (!Number.isFinite(n) || n < 0 || n > 2 ** 31 - 1)
      throw new SourceFileError(where, `"durationSeconds" must be a number of seconds, 0 or more`);
    durationSeconds = Math.round(n);
  }

  return { callId: text('callId'), startedAt, durationSeconds, caller: text('caller'), callee: text('callee') };
}
