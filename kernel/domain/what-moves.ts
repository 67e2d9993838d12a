import { CategoryState, DataCategory } from './enums';

/**
 * DOMAIN.md rules 4 and 5 in one place: what a migration moves into CDS, what
 * stays on the PBX, and how long a migrated recording keeps its local copy.
 * The storage subgraph applies them (a new migration's categories, counting,
 * completion), the recordings subgraph dates local copies with them, and the
 * CDS agent learns them from the server (a migration's categories say which
 * move; `Migration.localCopyExpiresAt` says until when copies stay), so no
 * client restates them.
 */

/** Every data category, in the order lists show them. */
export const DATA_CATEGORIES: readonly DataCategory[] = [
  DataCategory.CALL_RECORDINGS,
  DataCategory.BACKUPS,
  DataCategory.VOICEMAILS,
  DataCategory.FAXES,
];

/** Rule 4: what a migration moves into CDS; the others are reported NOT_SUPPORTED_YET and stay local. */
export const MIGRATED_CATEGORIES: readonly DataCategory[] = [DataCategory.CALL_RECORDINGS, DataCategory.BACKUPS];

export const isMigrated = (category: DataCategory): boolean => MIGRATED_CATEGORIES.includes(category);

/** Where a category starts in a new migration: PENDING when it moves, NOT_SUPPORTED_YET when it stays local. */
export const initialCategoryState = (category: DataCategory): CategoryState =>
  isMigrated(category) ? CategoryState.PENDING : CategoryState.NOT_SUPPORTED_YET;

/** Rule 5: how long a recording's local copy is kept after migration. */
export const LOCAL_COPY_DAYS = 7;

/** Rule 5: the local copy of a recording migrated at `migratedAt` is kept until this instant. */
export function localCopyExpiry(migratedAt: Date): Date {
  return new Date(migratedAt.getTime() + LOCAL_COPY_DAYS * 24 * 3600 * 1000);
}
