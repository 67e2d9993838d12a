import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badInput, notFound } from '../errors';
import {
  ByteRange, checkKey, checkRange, hashingTap, hashStream, IO_CHUNK_BYTES, ObjectStore, rangeNotSatisfiable, READ_CHUNK_BYTES,
  sameObject, StoredObject,
} from './store';

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
    const tap = hashingTap();
    try {
      await pipeline(
        createReadStream(filePath, { highWaterMark: IO_CHUNK_BYTES }),
        tap.stage,
        // `flush` fsyncs the file before the stream closes, and pipeline waits for the close.
        createWriteStream(temp, { flags: 'wx', highWaterMark: IO_CHUNK_BYTES, flush: this.fsync }),
      );
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
      if (this.fsync) await syncDirectory(path.dirname(target));
      return tap.result();
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async verify(key: string, expected: StoredObject): Promise<boolean> {
    const handle = await this.openObject(key);
    if (!handle) return false;
    const { size } = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (size !== expected.sizeBytes) {
      await handle.close();
      return false;
    }
    // The stream owns the handle and closes it at the end or on error.
    const actual = await hashStream(handle.createReadStream({ highWaterMark: IO_CHUNK_BYTES }));
    return sameObject(actual, expected);
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

/** Makes a rename durable: the new directory entry is only on disk once the directory itself is synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
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
