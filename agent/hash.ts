import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { IO_CHUNK_BYTES, StoredObject } from '../kernel/objectstore/store';
import { describeIoError, SourceFileError } from './errors';
import { SourceItem } from './scan';

/** Smallest read buffer: below this, fewer syscalls are not worth the memory. */
const MIN_CHUNK_BYTES = 64 * 1024;

/**
 * Size and SHA-256 of a local file, read in chunks into a buffer sized to the
 * file. Opened with O_NOFOLLOW, so a file swapped for a symbolic link after
 * the scan is refused rather than followed out of the source tree, and it
 * must still be a regular file.
 */
export async function hashFile(file: string | Buffer): Promise<StoredObject> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw Object.assign(new Error('it is not a regular file'), { code: 'EFTYPE' });
    const buffer = Buffer.allocUnsafe(Math.min(IO_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, stats.size + 1)));
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

export async function hashSourceFile(item: SourceItem): Promise<StoredObject> {
  try {
    return await hashFile(item.absPath);
  } catch (error) {
    throw new SourceFileError(item.sourcePath, `could not be read: ${describeIoError(error)}`);
  }
}
