import { DataCategory, MigrationStatus } from '../../kernel/domain/enums';
import { DATA_CATEGORIES, isMigrated } from '../../kernel/domain/what-moves';

/**
 * Storage's own rules (DOMAIN.md rules 3-5), kept here once so the lifecycle,
 * the resolvers and the seed agree on them.
 */

export { DATA_CATEGORIES, initialCategoryState, isMigrated, MIGRATED_CATEGORIES } from '../../kernel/domain/what-moves';

/** A migration still under way: at most one of these per PBX is "current". */
export const ACTIVE_MIGRATION_STATUSES: readonly MigrationStatus[] = [MigrationStatus.QUEUED, MigrationStatus.RUNNING];

export const sortByCategory = <T extends { category: DataCategory }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => DATA_CATEGORIES.indexOf(a.category) - DATA_CATEGORIES.indexOf(b.category));

export interface Progress {
  itemsTotal: number;
  itemsDone: number;
  bytesTotal: number;
  bytesDone: number;
}

/**
 * A migration's totals from its categories. Only categories that move count:
 * voicemails and faxes are counted per category but never move, so including
 * them would keep a finished migration below 100%.
 */
export function migrationTotals(categories: readonly (Progress & { category: DataCategory })[]): Progress {
  const totals: Progress = { itemsTotal: 0, itemsDone: 0, bytesTotal: 0, bytesDone: 0 };
  for (const c of categories) {
    if (!isMigrated(c.category)) continue;
    totals.itemsTotal += c.itemsTotal;
    totals.itemsDone += c.itemsDone;
    totals.bytesTotal += c.bytesTotal;
    totals.bytesDone += c.bytesDone;
  }
  return totals;
}

/**
 * 0..100: by bytes when the size is known (what takes the time), else by
 * items, else 0; always 100 once COMPLETED (an empty PBX completes at once).
 * Rounded to hundredths so clients need not format it.
 */
export function migrationPercent(migration: Progress & { status: MigrationStatus }): number {
  if (migration.status === MigrationStatus.COMPLETED) return 100;
  const ratio =
    migration.bytesTotal > 0
      ? migration.bytesDone / migration.bytesTotal
      : migration.itemsTotal > 0
        ? migration.itemsDone / migration.itemsTotal
        : 0;
  return Math.round(Math.min(1, Math.max(0, ratio)) * 10000) / 100;
}
