import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CategoryState, CdsState, DataCategory, MigrationStatus, MigrationTrigger } from '../../kernel/domain/enums';
import { recordEvent } from '../../kernel/events/outbox';
import { CdsStatus } from './entities/cds-status';
import { CdsUsage } from './entities/cds-usage';
import { Migration } from './entities/migration';
import { MigrationCategory } from './entities/migration-category';
import { DATA_CATEGORIES, initialCategoryState, migrationTotals } from './rules';
import { recomputeUsage } from './usage';

export interface SeedCategory {
  category: DataCategory;
  state?: CategoryState;
  itemsTotal?: number;
  itemsDone?: number;
  bytesTotal?: number;
  bytesDone?: number;
}

export interface SeedMigration {
  id?: string;
  pbxId: string;
  status: MigrationStatus;
  trigger: MigrationTrigger;
  region: string;
  error?: string | null;
  startedAt: Date;
  finishedAt?: Date | null;
  /** defaults to startedAt */
  createdAt?: Date;
  /** categories not given are added empty (moving ones PENDING, the others NOT_SUPPORTED_YET) */
  categories?: SeedCategory[];
}

export interface StorageSeed {
  status?: { pbxId: string; state: CdsState; region?: string | null; activatedAt?: Date | null }[];
  usage?: { pbxId: string; category: DataCategory; usedBytes: number; itemCount: number }[];
  migrations?: SeedMigration[];
}

/**
 * Writes storage rows directly, for the demo dataset and tests only (no
 * lifecycle rules are checked). Each PBX that gets usage has its total
 * recomputed and announced as CdsUsageChanged, so licensing sees the same
 * figures. A PBX whose state is seeded loses the migrations the lifecycle
 * queued for it on registration (a cloud PBX on 6.05 starts one, rule 1), so
 * the seeded state and history are the whole story. Returns the ids of the
 * migrations written, in the order given.
 */
export async function seedStorage(db: DataSource, rows: StorageSeed): Promise<string[]> {
  return db.transaction(async (em) => {
    for (const s of rows.status ?? []) {
      const queued = await em.findBy(Migration, { pbxId: s.pbxId, status: MigrationStatus.QUEUED });
      for (const m of queued) {
        await em.delete(MigrationCategory, { migrationId: m.id });
        await em.delete(Migration, { id: m.id });
      }
      const current = await em.findOneBy(CdsStatus, { pbxId: s.pbxId });
      await em.save(
        CdsStatus,
        em.create(CdsStatus, {
          pbxId: s.pbxId,
          state: s.state,
          region: s.region ?? null,
          activatedAt: s.activatedAt ?? null,
          usedBytes: current?.usedBytes ?? 0,
          revision: (current?.revision ?? 0) + 1,
        }),
      );
    }
    for (const u of rows.usage ?? []) await em.save(CdsUsage, em.create(CdsUsage, u));
    for (const pbxId of new Set((rows.usage ?? []).map((u) => u.pbxId))) {
      await recordEvent(em, 'storage', 'CdsUsageChanged', pbxId, await recomputeUsage(em, pbxId));
    }
    const ids: string[] = [];
    for (const m of rows.migrations ?? []) {
      const id = m.id ?? randomUUID();
      const categories = DATA_CATEGORIES.map((category) => {
        const given = m.categories?.find((c) => c.category === category);
        return em.create(MigrationCategory, {
          migrationId: id,
          category,
          state: given?.state ?? initialCategoryState(category),
          itemsTotal: given?.itemsTotal ?? 0,
          itemsDone: given?.itemsDone ?? 0,
          bytesTotal: given?.bytesTotal ?? 0,
          bytesDone: given?.bytesDone ?? 0,
        });
      });
      await em.insert(
        Migration,
        em.create(Migration, {
          id,
          pbxId: m.pbxId,
          status: m.status,
          trigger: m.trigger,
          region: m.region,
          error: m.error ?? null,
          startedAt: m.startedAt,
          finishedAt: m.finishedAt ?? null,
          createdAt: m.createdAt ?? m.startedAt,
          ...migrationTotals(categories),
        }),
      );
      await em.insert(MigrationCategory, categories);
      ids.push(id);
    }
    return ids;
  });
}
