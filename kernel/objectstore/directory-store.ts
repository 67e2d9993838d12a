import { createHash, randomUUID } from 'node:crypto';
import { constants, copyFile, link, mkdir, open, readdir, rename, stat, unlink, FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { badInput, notFound } from '../errors';
import {
  ByteRange,
  checkKey,
  checkRange,
  Inspection,
  IO_CHUNK_BYTES,
  ObjectStore,
  rangeNotSatisfiable,
  READ_CHUNK_BYTES,
  sameObject,
  StoredObject,
} from './store';

/** What placing received bytes did: stored them (and which version of the file they are), or found the key taken. */
export type Placement = { outcome: 'stored'; version: string | null } | { outcome: 'present'; version: null };

/** Why received bytes were not stored: more than declared, or not the declared size or SHA-256. */
export class ReceivedObjectMismatch extends Error {
  constructor(
    readonly kind: 'too-large' | 'size' | 'checksum',
    message: string,
  ) {
    super(message);
    this.name = 'ReceivedObjectMismatch';
  }
}

/** The smallest read buffer: below this, more reads cost more than the memory saved. */
const SMALL_CHUNK_BYTES = 64 * 1024;

/** Files being written live here until they are complete; the name can never be a PBX serial, so it is reserved. */
const STAGING = '.cds-staging';
/** A staged file this old was left by a process that died mid-write; nothing still writes it. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

export interface DirectoryStoreOptions {
  /**
   * fsync each object (and its directory) before putFile resolves. On by
   * default: a migration deletes the local file once the CDS copy is verified,
   * so a copy that still sits in the page cache when the machine loses power
   * would be data lost (DOMAIN rule 5). Turn off only for scratch stores.
   */
  fsync?: boolean;
}

/**
 * CDS objects as files under one root directory: key `a/b/c` is file
 * `<root>/a/b/c`. Writes go to `<root>/.cds-staging/` and are renamed into
 * place when complete, so they stay on the same file system and the rename is
 * atomic. Because keys are files, a key cannot also be a "folder" of other
 * keys (`a/b` and `a/b/c` cannot both exist), unlike in S3; CDS keys end in a
 * file's own relative path, so they never collide that way.
 */
export class DirectoryStore implements ObjectStore {
  readonly root: string;
  readonly location: string;
  private readonly fsync: boolean;
  private readonly directorySyncs = new DirectorySyncs();
  private staging: Promise<string> | null = null;

  constructor(root: string, options: DirectoryStoreOptions = {}) {
    this.root = path.resolve(root);
    this.location = `file:${this.root}`;
    this.fsync = options.fsync ?? true;
  }

  async putFile(key: string, filePath: string): Promise<StoredObject> {
    const target = this.pathOf(key);
    const staging = await this.stagingDir();
    const temp = path.join(staging, `${randomUUID()}.part`);
    // The kernel copies (copy_file_range or sendfile; a reflink where the file system has them)
    // while this thread hashes the source, which it mostly reads from the page cache right behind
    // the copy: about half the CPU and wall time of copying through user space. Were the source
    // to change in between, the copy and the hash would disagree, and verify() would say so.
    const [copied, hashed] = await Promise.allSettled([
      copyFile(filePath, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
      hashPath(filePath),
    ]);
    try {
      if (copied.status === 'rejected') throw copied.reason;
      if (hashed.status === 'rejected') throw hashed.reason;
      if (this.fsync) await syncPath(temp);
      const dir = path.dirname(target);
      const created = await mkdir(dir, { recursive: true });
      await rename(temp, target);
      if (this.fsync) await this.syncDirectories(dir, created);
      return hashed.value;
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Receives an object's bytes from a stream (the gateway's upload endpoint):
   * written to staging and hashed as they arrive, and placed under `key` only
   * when they are exactly the `expected` size and SHA-256 (ReceivedObjectMismatch
   * otherwise; more bytes than declared stop the write at once). Placement is
   * exclusive: when an object is already under the key the new bytes are
   * dropped and 'present' answered; keys are content-addressed (objectKeyFor),
   * so the object there is meant to be these very bytes, and whoever counts it
   * verifies it first. Durable (fsync) like putFile.
   */
  async receive(key: string, source: AsyncIterable<Buffer>, expected: StoredObject): Promise<Placement> {
    return (await this.stage(key, source, expected)).commit();
  }

  /**
   * `receive` in two steps, so that a caller receiving many objects from one
   * stream can read the next while this one is made durable: `stage` writes
   * and checks the bytes (ReceivedObjectMismatch, nothing kept), `commit`
   * fsyncs and places them (exclusively) and must be called once.
   */
  async stage(key: string, source: AsyncIterable<Buffer>, expected: StoredObject): Promise<{ commit(): Promise<Placement> }> {
    const target = this.pathOf(key);
    const staging = await this.stagingDir();
    const temp = path.join(staging, `${randomUUID()}.part`);
    const handle = await open(temp, 'wx');
    const hash = createHash('sha256');
    let sizeBytes = 0;
    try {
      for await (const chunk of source) {
        sizeBytes += chunk.length;
        if (sizeBytes > expected.sizeBytes) {
          throw new ReceivedObjectMismatch('too-large', `more than the declared ${expected.sizeBytes} bytes arrived for ${key}`);
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      if (sizeBytes !== expected.sizeBytes) {
        throw new ReceivedObjectMismatch('size', `${sizeBytes} bytes arrived for ${key}, not the declared ${expected.sizeBytes}`);
      }
      const sha256 = hash.digest('hex');
      if (sha256 !== expected.sha256.toLowerCase()) {
        throw new ReceivedObjectMismatch(
          'checksum',
          `the bytes that arrived for ${key} have SHA-256 ${sha256}, not the declared ${expected.sha256}`,
        );
      }
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    const commit = async (): Promise<Placement> => {
      let placed = false;
      let staged = true;
      try {
        try {
          // The data and the size that finds it; the rest of the inode's metadata is not what keeps the object.
          if (this.fsync) await handle.datasync();
        } finally {
          await handle.close();
        }
        const dir = path.dirname(target);
        const created = await mkdir(dir, { recursive: true });
        try {
          await link(temp, target); // exclusive, unlike rename
          placed = true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        await unlink(temp);
        staged = false;
        if (!placed) return { outcome: 'present', version: null };
        if (this.fsync) await this.syncDirectories(dir, created);
        // Taken after the staging name is gone: unlinking it changed the inode's ctime.
        return { outcome: 'stored', version: await this.version(key) };
      } finally {
        if (staged) await unlink(temp).catch(() => undefined);
      }
    };
    return { commit };
  }

  async verify(key: string, expected: StoredObject): Promise<boolean> {
    return (await this.inspect(key, expected)) === 'verified';
  }

  async inspect(key: string, expected: StoredObject): Promise<Inspection> {
    const handle = await this.openObject(key);
    if (!handle) return 'missing';
    try {
      const { size } = await handle.stat();
      if (size !== expected.sizeBytes) return 'differs';
      return sameObject(await hashFile(handle), expected) ? 'verified' : 'differs';
    } finally {
      await handle.close();
    }
  }

  /**
   * Which write of the file under `key` is there now: device, inode, size and
   * change time (ns). Any write, truncation, rename or link over it changes
   * one of them, and no system call sets a change time back; so a version
   * recorded when bytes of a known SHA-256 were placed (a store receipt,
   * kernel/objectstore/receipts.ts) still names those bytes while it matches.
   * Null when there is no file.
   */
  async version(key: string): Promise<string | null> {
    try {
      const s = await stat(this.pathOf(key), { bigint: true });
      return s.isFile() ? `${s.dev}:${s.ino}:${s.size}:${s.ctimeNs}` : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number } | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { sizeBytes: s.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range);
    const handle = await this.openObject(key);
    if (!handle) throw notFound('CDS object', key);
    if (range) {
      const { size } = await handle.stat();
      if (range.start >= size) {
        await handle.close();
        throw rangeNotSatisfiable(key, range, size);
      }
    }
    // The stream owns the handle from here and closes it at the end, on error or when destroyed.
    return handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES, ...(range ?? {}) });
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /**
   * Makes a rename durable: a directory entry is only on disk once its directory
   * is synced, and so are the entries of directories mkdir just created
   * (`created` is the topmost of them).
   */
  private async syncDirectories(dir: string, created: string | undefined): Promise<void> {
    const dirs = [dir];
    if (created) {
      for (let d = dir; d !== created && path.dirname(d) !== d; d = path.dirname(d)) dirs.push(path.dirname(d));
      dirs.push(path.dirname(created));
    }
    for (const d of dirs) await this.directorySyncs.sync(d);
  }

  /** The file of a key; the key rules keep it inside the root. */
  private pathOf(key: string): string {
    const segments = checkKey(key).split('/');
    if (segments[0] === STAGING) throw badInput(`Invalid CDS object key '${key}': '${STAGING}' is reserved`, 'key');
    return path.join(this.root, ...segments);
  }

  private async openObject(key: string): Promise<FileHandle | null> {
    const file = this.pathOf(key);
    try {
      const handle = await open(file, 'r');
      if ((await handle.stat()).isFile()) return handle;
      await handle.close();
      return null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** Creates the staging directory once per process and clears what crashed writers left there. */
  private stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      const dir = path.join(this.root, STAGING);
      await mkdir(dir, { recursive: true });
      await removeAbandoned(dir).catch(() => undefined);
      return dir;
    })().catch((error: unknown) => {
      this.staging = null;
      throw error;
    });
    return this.staging;
  }
}

async function removeAbandoned(dir: string): Promise<void> {
  const cutoff = Date.now() - ABANDONED_AFTER_MS;
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.part')) continue;
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => null);
    if (s && s.mtimeMs < cutoff) await unlink(file).catch(() => undefined);
  }
}

async function hashPath(file: string): Promise<StoredObject> {
  const handle = await open(file, 'r');
  try {
    return await hashFile(handle);
  } finally {
    await handle.close();
  }
}

/**
 * Size and SHA-256 of an open file, read ahead by one chunk into two reused
 * buffers (a stream would allocate a fresh buffer per chunk): the next read
 * runs in the thread pool while this thread hashes.
 */
async function hashFile(handle: FileHandle): Promise<StoredObject> {
  // Buffers sized to the file (a 20 kB recording needs no 4 MiB chunks: allocating them for every small
  // file drives the garbage collector and slows small files several times); +1 so one read ends the file.
  const chunk = Math.min(IO_CHUNK_BYTES, Math.max(SMALL_CHUNK_BYTES, (await handle.stat()).size + 1));
  const buffers = [0, 1].map(() => Buffer.allocUnsafeSlow(chunk));
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let reading = quiet(handle.read(buffers[0], 0, chunk, 0));
  try {
    for (let n = 0; ; n++) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      sizeBytes += bytesRead;
      reading = quiet(handle.read(buffers[(n + 1) % 2], 0, chunk, sizeBytes));
      hash.update(buffers[n % 2].subarray(0, bytesRead));
    }
  } catch (error) {
    await Promise.allSettled([reading]);
    throw error;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}

/** An operation awaited later: its failure must not count as unhandled in the meantime. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * fsyncs of directories, group-committed: a sync asked for while one of the
 * same directory runs is served by one more sync that starts after it (and
 * so after the caller's change), shared by everyone who asks meanwhile. Many
 * objects placed at once in one category directory then cost a few syncs of
 * it, not one each.
 */
class DirectorySyncs {
  private readonly latest = new Map<string, { started: boolean; done: Promise<void> }>();

  sync(dir: string): Promise<void> {
    const last = this.latest.get(dir);
    if (last && !last.started) return last.done;
    const next = { started: false, done: Promise.resolve() };
    next.done = (last ? last.done.catch(() => undefined) : Promise.resolve())
      .then(() => {
        next.started = true;
        return syncPath(dir);
      })
      .finally(() => {
        if (this.latest.get(dir) === next) this.latest.delete(dir);
      });
    this.latest.set(dir, next);
    return next.done;
  }
}

/** fsync of a file or a directory (both open read-only for it on Linux). */
async function syncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
