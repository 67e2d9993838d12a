import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { objectKeyFor } from '../../kernel/objectstore/store';
import { GraphQLResult } from './harness';

/** Files larger than this are written sparse (zeros), so a test can report a multi-gigabyte backup cheaply. */
const SPARSE_FROM_BYTES = 64 * 1024 * 1024;

export interface StoredItem {
  category: string;
  sourcePath: string;
  objectKey: string;
  sizeBytes: number;
  sha256: string;
}

function sha256Of(content: Buffer | { zeros: number }): string {
  const hash = createHash('sha256');
  if (Buffer.isBuffer(content)) return hash.update(content).digest('hex');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let left = content.zeros; left > 0; left -= chunk.length) hash.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  return hash.digest('hex');
}

/**
 * A CDS directory store of a test's own, and the objects a test reports as an
 * agent would: written under the key CDS gives them, with their real size and
 * SHA-256, since CDS verifies every reported object before it counts
 * (DOMAIN.md rule 5). Set `setting` as CDS_STORES before the stack starts.
 */
export class TestObjectStore {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-test-objects-'));

  /** the CDS_STORES value: every region is a directory below `root` */
  get setting(): string {
    return `*=file:${this.root}/{region}`;
  }

  /** the CDS_STORES value for these regions only (any other has no store) */
  settingFor(regions: string[]): string {
    return regions.map((region) => `${region}=file:${this.root}/${region}`).join(',');
  }

  /** Stores the object of a `size`-byte file at `sourcePath` of PBX `pbxId` (in `region`); answers the item to report. */
  put(pbxId: string, region: string, category: string, sourcePath: string, size: number): StoredItem {
    const content = size >= SPARSE_FROM_BYTES ? { zeros: size } : Buffer.alloc(size, sourcePath);
    const sha256 = sha256Of(content);
    const objectKey = objectKeyFor(pbxId, category, sourcePath, sha256);
    const file = path.join(this.root, region, ...objectKey.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (Buffer.isBuffer(content)) fs.writeFileSync(file, content);
    else fs.truncateSync((fs.closeSync(fs.openSync(file, 'w')), file), size);
    return { category, sourcePath, objectKey, sizeBytes: size, sha256 };
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Sends a progress report as an agent does: again for as long as CDS answers
 * that it is still reading reported objects back (CONFLICT with
 * `extensions.verifying`; a multi-gigabyte backup outlasts CDS_STORE_WAIT_MS
 * on a loaded machine). Any other error fails the test.
 */
export async function reportUntilVerified<T>(send: () => Promise<GraphQLResult<T>>): Promise<T> {
  for (;;) {
    const result = await send();
    if (!result.errors?.length) return result.data as T;
    if (!result.errors.every((e) => Array.isArray(e.extensions?.verifying))) {
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
