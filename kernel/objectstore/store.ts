import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { badInput } from '../errors';

/**
 * The CDS object store behind one small interface: a directory on a (network)
 * file system, or an S3-compatible bucket. A migration copies a PBX's files in
 * with `putFile`, and an item counts as migrated only after `verify` re-read
 * the STORED copy and found the same size and SHA-256 (DOMAIN rule 5).
 */
export interface ObjectStore {
  /** Where the objects live, for messages and logs (`file:/srv/cds/eu-central-1`, `s3://bucket/prefix`); never holds credentials. */
  readonly location: string;
  /**
   * Streams the file into the store under `key` and returns the size and
   * SHA-256 of the bytes read from `filePath`, hashed while the copy runs (not in
   * a pass of its own afterwards; never the whole file in memory). Atomic: the key
   * shows either the previous object or the complete new one, never a partial
   * write. Resolves once the object is durable. The hash is what `verify` must
   * find in the stored copy before the item counts as migrated.
   */
  putFile(key: string, filePath: string): Promise<StoredObject>;
  /** Re-reads the stored object and hashes it; false when it is missing or differs in size or SHA-256. */
  verify(key: string, expected: StoredObject): Promise<boolean>;
  /**
   * `verify`, saying which way it failed: by the checksum the store computed
   * and keeps where it keeps one, else by reading and hashing the bytes, in as
   * few requests as the store allows.
   */
  inspect(key: string, expected: StoredObject): Promise<Inspection>;
  /** The object's size, or null when there is no object under the key. */
  stat(key: string): Promise<{ sizeBytes: number } | null>;
  /**
   * A stream of the object's bytes, or of the inclusive byte range
   * `start..end` (HTTP Range semantics; `end` past the last byte is clamped).
   * Rejects with NOT_FOUND when there is no object and BAD_USER_INPUT when the
   * range starts past the end.
   */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close?(): Promise<void>;
}

/** What CDS found under a key: the expected object, nothing, or other bytes. */
export type Inspection = 'verified' | 'missing' | 'differs';

export interface StoredObject {
  sizeBytes: number;
  /** Lower-case hex SHA-256 of the object's bytes. */
  sha256: string;
}

/** Inclusive byte offsets, as in `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Chunk size for bulk reads (hashing in putFile and verify): large enough that per-chunk overhead (syscalls, promise hops) is lost in the hashing; 1, 4 and 16 MiB measured within noise of each other. */
export const IO_CHUNK_BYTES = 4 * 1024 * 1024;

/** Chunk size for playback reads: many concurrent range requests, each holding little memory. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** S3's limit on a key, in UTF-8 bytes; applied to both stores so a key valid in one is valid in the other. */
const MAX_KEY_BYTES = 1024;

/**
 * Checks a key and returns it. Keys look like `<pbxSerial>/<category>/<relative/path>`:
 * '/'-separated, relative, with no empty, `.` or `..` segment, no backslash
 * and no NUL, so that a key names the same object in a directory and in a
 * bucket and can never reach outside the store's root.
 */
export function checkKey(key: string): string {
  const invalid = (why: string) => badInput(`Invalid CDS object key '${printable(key)}': ${why}`, 'key');
  if (typeof key !== 'string' || key.length === 0) throw invalid('it is empty');
  if (key.includes('\0')) throw invalid('it contains a NUL character');
  if (key.includes('\\')) throw invalid('it contains a backslash');
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) throw invalid('it is an absolute path');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw invalid(`it is longer than ${MAX_KEY_BYTES} bytes`);
  for (const segment of key.split('/')) {
    if (segment === '..') throw invalid("it contains a '..' segment");
    if (segment === '.' || segment === '') throw invalid("it contains an empty or '.' segment");
  }
  return key;
}

/** The key of one migrated file: `<pbxSerial>/<category>/<relative/path>`, checked (objects written before upload grants). */
export function cdsObjectKey(pbxSerial: string, category: string, relativePath: string): string {
  for (const [name, part] of [
    ['PBX serial', pbxSerial],
    ['category', category],
  ] as const) {
    if (!part || part.includes('/')) throw badInput(`Invalid CDS object key part: ${name} '${printable(part)}'`, 'key');
  }
  return checkKey(`${pbxSerial}/${category}/${relativePath}`);
}

/** Paths are stored as text and identified by their hash (sourcePathHash), so only the file system bounds them (PATH_MAX). */
export const MAX_SOURCE_PATH_BYTES = 4096;

/** SHA-256 of a source path: what identifies a file of a PBX (paths can be longer than a key or an index may be). */
export const sourcePathHash = (sourcePath: string): string => createHash('sha256').update(sourcePath).digest('hex');

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The key the SERVER gives one file's object (never taken from a client):
 * `<pbxSerial>/<category>/<sha256 of the source path>/<sha256 of the content><.ext>`.
 * Under the PBX's own prefix; whatever the path's length or characters, the
 * key is short and plain; and it is content-addressed, so an object under a
 * key can only ever be the one byte sequence its name says (a changed file
 * gets a new key and never overwrites what a recording already points at).
 * The extension (`.wav`, `.mp3`) is kept so playback knows the media type.
 */
export function objectKeyFor(pbxSerial: string, category: string, sourcePath: string, sha256: string): string {
  for (const [name, part] of [
    ['PBX serial', pbxSerial],
    ['category', category],
  ] as const) {
    if (!part || !/^[A-Za-z0-9_-]+$/.test(part)) throw badInput(`Invalid CDS object key part: ${name} '${printable(part)}'`, 'key');
  }
  const sha = sha256.toLowerCase();
  if (!SHA256_HEX.test(sha)) throw badInput(`'${printable(sha256)}' is not a SHA-256 (64 hexadecimal characters)`, 'sha256');
  const ext = /\.[A-Za-z0-9]{1,10}$/.exec(sourcePath)?.[0].toLowerCase() ?? '';
  return checkKey(`${pbxSerial}/${category}/${sourcePathHash(sourcePath)}/${sha}${ext}`);
}

/** Whether a key lies under a PBX's own prefix. */
export const isKeyOfPbx = (key: string, pbxSerial: string): boolean => typeof key === 'string' && key.startsWith(`${pbxSerial}/`);

/** Checks a range against the interface's rules (non-negative integers, start <= end). */
export function checkRange(range: ByteRange): ByteRange {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw badInput(`Invalid byte range ${start}-${end}`, 'range');
  }
  return range;
}

export const rangeNotSatisfiable = (key: string, range: ByteRange, sizeBytes?: number) =>
  badInput(
    `Byte range ${range.start}-${range.end} starts past the end of CDS object '${key}'` +
      (sizeBytes === undefined ? '' : ` (${sizeBytes} bytes)`),
    'range',
  );

/**
 * A pipeline stage that counts and hashes the chunks flowing through it,
 * unchanged, so the bytes hashed are exactly the bytes written.
 */
export function hashingTap(): {
  stage: (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;
  result: () => StoredObject;
} {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  return {
    stage: async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        yield chunk;
      }
    },
    result: () => ({ sizeBytes, sha256: hash.digest('hex') }),
  };
}

/** Size and SHA-256 of a stream, read to its end. */
export async function hashStream(stream: AsyncIterable<Buffer>): Promise<StoredObject> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

export function sameObject(actual: StoredObject, expected: StoredObject): boolean {
  return actual.sizeBytes === expected.sizeBytes && actual.sha256.toLowerCase() === expected.sha256.toLowerCase();
}

function printable(s: unknown): string {
  return (
    String(s)
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped here
      .replace(/[\0-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      .slice(0, 200)
  );
}
