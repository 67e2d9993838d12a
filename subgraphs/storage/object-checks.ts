import { DataCategory } from '../../kernel/domain/enums';
import { isMigrated } from '../../kernel/domain/what-moves';
import { badInput } from '../../kernel/errors';
import { MAX_SOURCE_PATH_BYTES } from '../../kernel/objectstore/store';

/**
 * What every item an agent names (for a grant, in a report, for a purge
 * check) must look like before CDS touches a store: a category that moves
 * (rule 4), a path relative to the PBX's storage root, a whole size and a
 * SHA-256. One function, so grants, reports and purge checks refuse alike.
 */
export interface DeclaredItem {
  category: DataCategory;
  sourcePath: string;
  sizeBytes: number;
  sha256: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function checkSourcePath(sourcePath: string): string {
  const path = typeof sourcePath === 'string' ? sourcePath.replace(/\\/g, '/') : '';
  if (
    !path ||
    path.startsWith('/') ||
    path.split('/').some((s) => s === '..' || s === '' || s === '.') ||
    path.includes('\0') ||
    Buffer.byteLength(path) > MAX_SOURCE_PATH_BYTES
  ) {
    throw badInput(`'${String(sourcePath).slice(0, 200)}' is not a path relative to the PBX's storage root`, 'items');
  }
  return path;
}

export function checkDeclaredItem<T extends DeclaredItem>(item: T): T {
  if (!isMigrated(item.category)) throw badInput(`${item.category} are not moved into CDS yet (rule 4); do not send them`, 'items');
  const sourcePath = checkSourcePath(item.sourcePath);
  const sha256 = String(item.sha256 ?? '').toLowerCase();
  if (!SHA256.test(sha256)) throw badInput(`The SHA-256 of ${sourcePath} must be 64 hexadecimal characters`, 'items');
  if (!Number.isSafeInteger(item.sizeBytes) || item.sizeBytes < 0)
    throw badInput(`The size of ${sourcePath} must be a whole number of bytes`, 'items');
  return { ...item, sourcePath, sha256 };
}
