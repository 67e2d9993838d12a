import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { IO_CHUNK_BYTES, ObjectStore, StoredObject } from '../kernel/objectstore/store';
import { describeIoError, SourceFileError, StoreError } from './errors';
import { SourceItem } from './scan';

/** What became of one file: its verified size and SHA-256, and whether it had to be written. */
export interface CopyOutcome extends StoredObject {
  /** false when an earlier run had already written it and the stored copy verified */
  copied: boolean;
}

/** Smallest read buffer: below this, fewer syscalls are not worth the memory. */
const MIN_CHUNK_BYTES = 64 * 1024;

/**
 * Size and SHA-256 of a local file, read in chunks. The buffer is sized to
 * the file (at most IO_CHUNK_BYTES): a 20 kB recording does not allocate
 * megabytes, which would cost a garbage collection every few files.
 */
export async function hashFile(file: string): Promise<StoredObject> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.allocUnsafe(Math.min(IO_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, size + 1)));
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, sizeBytes);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      sizeBytes += bytesRead;
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** Writes a file into the store and proves the copy (DOMAIN rule 5: nothing counts before its checksum verified). */
export class Copier {
  constructor(
    private readonly store: ObjectStore,
    /**
     * Look for objects an earlier run wrote but never reported. Off only when
     * no agent ever ran for the PBX: then there is nothing to find, and a
     * stat per file is time saved.
     */
    private readonly probeStore = true,
  ) {}

  /**
   * Puts `item` under `key` unless an earlier run already did: an object
   * already there (written before a crash, never reported) is checked against
   * the local file and kept when it verifies. Otherwise the file is streamed in;
   * `putFile` hashes exactly the bytes it read from the local file, and
   * `verify` re-reads the STORED copy and must find the same size and SHA-256.
   * A copy that does not verify is written once more, then the item fails.
   */
  async migrate(item: SourceItem, key: string): Promise<CopyOutcome> {
    if (item.unreadable) throw new SourceFileError(item.sourcePath, item.unreadable);
    const present = this.probeStore ? await this.store.stat(key).catch(() => null) : null;
    if (present && present.sizeBytes === item.sizeBytes) {
      const local = await this.readLocal(item);
      if (await this.store.verify(key, local).catch(() => false)) return { ...local, copied: false };
    }
    let why = '';
    for (let attempt = 1; attempt <= 2; attempt++) {
      let written: StoredObject;
      try {
        written = await this.store.putFile(key, item.absPath);
      } catch (error) {
        if (isSourceError(error, item.absPath)) throw new SourceFileError(item.sourcePath, `could not be read: ${describeIoError(error)}`);
        why = `the CDS store refused the write: ${describeIoError(error)}`;
        continue;
      }
      let verified = false;
      try {
        verified = await this.store.verify(key, written);
      } catch (error) {
        why = `the CDS copy could not be re-read: ${describeIoError(error)}`;
        continue;
      }
      if (verified) return { ...written, copied: true };
      why = `the CDS copy did not verify (expected ${written.sizeBytes} bytes, SHA-256 ${written.sha256})`;
    }
    throw new StoreError(item.sourcePath, `${why}, twice; it was not counted`);
  }

  private async readLocal(item: SourceItem): Promise<StoredObject> {
    try {
      return await hashFile(item.absPath);
    } catch (error) {
      throw new SourceFileError(item.sourcePath, `could not be read: ${describeIoError(error)}`);
    }
  }
}

/** An error of reading the local file (as opposed to writing the store): it carries the source path. */
function isSourceError(error: unknown, absPath: string): boolean {
  const e = error as NodeJS.ErrnoException | null;
  return Boolean(e && typeof e === 'object' && e.path === absPath);
}
