import { randomUUID } from 'node:crypto';
import { EntityManager, MoreThan } from 'typeorm';
import { forUpdate } from '../../kernel/database';
import { DirectoryPbx, pbxOwnership } from '../../kernel/directory';
import { CategoryState, CdsState, DataCategory, MigrationStatus, MigrationTrigger, PbxKind } from '../../kernel/domain/enums';
import { CDS_MIN_WMS_VERSION, normalizeRegion, supportsCds } from '../../kernel/domain/rules';
import { badInput, conflict, notFound } from '../../kernel/errors';
import { MigrationProgressPayload, PbxSnapshot } from '../../kernel/events/catalog';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { CdsObject } from './entities/cds-object';
import { CdsStatus, notActivated } from './entities/cds-status';
import { CdsUsage } from './entities/cds-usage';
import { Migration } from './entities/migration';
import { MigrationCategory } from './entities/migration-category';
import { StorageLoaders } from './loaders';
import { DATA_CATEGORIES, initialCategoryState, isMigrated, migrationTotals, sortByCategory } from './rules';
import { CdsUsageService } from './usage';
import { checkDeclaredItem, checkSourcePath } from './object-checks';
import { CdsRegions, StillVerifying, UploadService } from './uploads';
import { sourcePathHash } from '../../kernel/objectstore/store';
import { DataCategory as Category } from '../../kernel/domain/enums';

export type { CdsRegions } from './uploads';

export interface CategoryInventory {
  category: DataCategory;
  itemsTotal: number;
  bytesTotal: number;
}
export interface VerifiedItem {
  category: DataCategory;
  sourcePath: string;
  objectKey: string;
  sizeBytes: number;
  sha256: string;
  /** The upload endpoint's store receipt for the object, when it placed it (kernel/objectstore/receipts.ts). */
  receipt?: string | null;
}
/** An entry of the source tree the agent did not migrate (a symbolic link, a device), reported by name. */
export interface SkippedEntry {
  sourcePath: string;
  reason: string;
}

/** Skipped entries kept with a migration, by name; the count covers them all. */
export const MAX_SKIPPED_KEPT = 200;

/** Items per progress report: big enough for 500 recordings a second, small enough for one statement. */
export const MAX_ITEMS_PER_REPORT = 1000;

/**
 * CDS activation and migrations (DOMAIN.md rules 1-5): who may start one,
 * how an agent run takes a migration, reports verified items and finishes it.
 * Every command checks first and changes nothing when it refuses.
 */
export class LifecycleService {
  constructor(
    private readonly runtime: SubgraphRuntime,
    private readonly usage: CdsUsageService,
    private readonly stores: CdsRegions,
    /** how long an agent run holds a migration without reporting */
    private readonly leaseMs: number,
    readonly uploads: UploadService,
  ) {}

  /** Rule 1, applied to every version report (and registration) of a PBX. */
  async onPbxVersion(em: EntityManager, pbx: PbxSnapshot): Promise<void> {
    if (pbx.kind !== PbxKind.CLOUD || !supportsCds(pbx.wmsVersion)) return;
    const status = await this.lockStatus(em, pbx.id);
    // Reporting the same or a later version again starts nothing new.
    if (status.state !== CdsState.NOT_ACTIVATED) return;
    await this.startMigration(em, pbx.id, pbx.region, MigrationTrigger.WMS_UPGRADE);
  }

  /** Rule 2: an admin, the customer's partner or the PBX itself activates CDS for a VIRTUAL or HARDWARE PBX. */
  async activate(loaders: StorageLoaders, pbxId: string, regionArg: string | null | undefined): Promise<Migration> {
    requireRole(loaders.scope.identity, ['admin', 'partner', 'pbx'], 'activate Company Data Storage');
    const pbx = await this.pbxForChange(loaders, pbxId);
    const region = regionArg ? normalizeRegion(regionArg) : pbx.region;
    if (pbx.kind === PbxKind.CLOUD && region !== pbx.region) {
      throw conflict(`PBX ${pbx.id} is a cloud PBX in ${pbx.region}; its CDS lives in that region, not in ${region}`);
    }
    return this.runtime.transact(async (em) => {
      const status = await this.lockStatus(em, pbx.id);
      this.assertMayActivate(pbx, status);
      if (!this.stores.has(region)) {
        throw conflict(
          `No CDS store is configured for region ${region}, so nothing can be migrated there (configured: ${this.stores.regions().join(', ') || 'none'})`,
        );
      }
      return this.startMigration(em, pbx.id, region, MigrationTrigger.ADMIN_SCRIPT);
    });
  }

  private assertMayActivate(pbx: DirectoryPbx, status: CdsStatus): void {
    switch (status.state) {
      case CdsState.ACTIVE:
        throw conflict(`CDS is already ACTIVE for PBX ${pbx.id}`);
      case CdsState.MIGRATING:
        throw conflict(`A migration into CDS is already under way for PBX ${pbx.id}; its agent resumes it`);
      case CdsState.NOT_ACTIVATED:
        if (pbx.kind === PbxKind.CLOUD) {
          throw conflict(`PBX ${pbx.id} is a cloud PBX: CDS activates by itself when it reports WMS ${CDS_MIN_WMS_VERSION} or later`);
        }
        break;
      case CdsState.MIGRATION_FAILED:
        break; // any PBX whose migration failed may be activated again by hand
    }
    if (!supportsCds(pbx.wmsVersion)) {
      throw conflict(`PBX ${pbx.id} runs WMS ${pbx.wmsVersion}; CDS needs WMS ${CDS_MIN_WMS_VERSION} or later`);
    }
  }

  /** Queues a migration; a region without a store fails it at once, writing nowhere. */
  private async startMigration(em: EntityManager, pbxId: string, region: string, trigger: MigrationTrigger): Promise<Migration> {
    const now = new Date();
    const storeMissing = !this.stores.has(region);
    const migration = em.create(Migration, {
      id: randomUUID(),
      pbxId,
      trigger,
      region,
      status: storeMissing ? MigrationStatus.FAILED : MigrationStatus.QUEUED,
      error: storeMissing ? `No CDS store is configured for region ${region}; nothing was moved and local data is untouched` : null,
      itemsTotal: 0,
      itemsDone: 0,
      bytesTotal: 0,
      bytesDone: 0,
      startedAt: now,
      finishedAt: storeMissing ? now : null,
      createdAt: now,
      runToken: null,
      leaseExpiresAt: null,
    });
    await em.insert(Migration, migration);
    await em.insert(
      MigrationCategory,
      DATA_CATEGORIES.map((category) => ({
        migrationId: migration.id,
        category,
        state: storeMissing && isMigrated(category) ? CategoryState.FAILED : initialCategoryState(category),
        itemsTotal: 0,
        itemsDone: 0,
        bytesTotal: 0,
        bytesDone: 0,
      })),
    );
    await em.update(CdsStatus, { pbxId }, { state: storeMissing ? CdsState.MIGRATION_FAILED : CdsState.MIGRATING, region });
    await this.runtime.emit(em, 'MigrationStarted', pbxId, {
      ...(await progressOf(em, migration)),
      trigger,
      region,
      startedAt: now.toISOString(),
    });
    if (storeMissing)
      await this.runtime.emit(em, 'MigrationFailed', pbxId, {
        ...(await progressOf(em, migration)),
        error: migration.error ?? '',
        failedAt: now.toISOString(),
      });
    return migration;
  }

  /**
   * An agent takes a migration: it says what it found (per category) and gets
   * the run token it reports with. Another agent holding an unexpired lease
   * makes this a CONFLICT; the same agent restarted presents its old token.
   */
  async beginRun(
    loaders: StorageLoaders,
    migrationId: string,
    inventory: CategoryInventory[],
    resumeToken: string | null | undefined,
    skipped: SkippedEntry[] = [],
  ): Promise<{ migration: Migration; runToken: string }> {
    const { pbx } = await this.migrationForChange(loaders, migrationId);
    const kept = skipped
      .slice(0, MAX_SKIPPED_KEPT)
      .map((e) => ({ sourcePath: String(e.sourcePath).slice(0, 1000), reason: String(e.reason).slice(0, 200) }));
    const seen = new Set<DataCategory>();
    for (const item of inventory) {
      if (seen.has(item.category)) throw badInput(`Category ${item.category} is listed twice in the inventory`, 'inventory');
      seen.add(item.category);
      if (!Number.isSafeInteger(item.itemsTotal) || item.itemsTotal < 0 || !Number.isSafeInteger(item.bytesTotal) || item.bytesTotal < 0) {
        throw badInput(`The inventory of ${item.category} must count items and bytes as whole numbers of at least 0`, 'inventory');
      }
    }
    return this.runtime
      .transact(async (em) => {
        const migration = await em.findOneOrFail(Migration, { where: { id: migrationId }, ...forUpdate(em) });
        this.assertOpen(migration);
        const now = new Date();
        if (migration.runToken && migration.runToken !== resumeToken && migration.leaseExpiresAt && migration.leaseExpiresAt > now) {
          throw conflict(
            `Another agent is migrating PBX ${pbx.id} (migration ${migration.id}); it holds the migration until ${migration.leaseExpiresAt.toISOString()} unless it reports again`,
          );
        }
        migration.runToken = resumeToken && resumeToken === migration.runToken ? resumeToken : randomUUID();
        migration.leaseExpiresAt = new Date(now.getTime() + this.leaseMs);
        migration.status = MigrationStatus.RUNNING;
        migration.skippedJson = kept.length ? JSON.stringify(kept) : null;
        migration.skippedCount = skipped.length;
        const categories = await em.findBy(MigrationCategory, { migrationId });
        for (const category of categories) {
          const counted = inventory.find((i) => i.category === category.category);
          if (counted) {
            category.itemsTotal = counted.itemsTotal;
            category.bytesTotal = counted.bytesTotal;
          }
          if (isMigrated(category.category)) category.state = CategoryState.RUNNING;
        }
        await this.refreshCounts(em, migration, categories);
        return { migration, runToken: migration.runToken };
      })
      .then((run) => (this.count('started'), run));
  }

  /** Agent runs by outcome, for /metrics (counted once committed). */
  private count(outcome: 'started' | 'completed' | 'failed'): void {
    this.runtime.metrics
      .counter('cds_agent_runs_total', 'Agent runs by outcome: started (or resumed), completed, failed', ['outcome'])
      .inc({ outcome });
  }

  /** Bytes newly verified in CDS, for /metrics (counted once committed). */
  private countMigrated(bytes: number): void {
    if (bytes > 0)
      this.runtime.metrics
        .counter('cds_migrated_bytes_total', 'Bytes newly verified in CDS from agent reports (each object once per migration)')
        .inc(bytes);
  }

  /**
   * Records items whose CDS copy CDS itself verified just now (rule 5): the
   * key must be the one CDS gives the file, and the stored object must hold
   * the reported size and SHA-256 (UploadService.verifyReported); otherwise
   * the report is refused and counts nothing. Each item counts once, however
   * often reported.
   */
  async reportProgress(loaders: StorageLoaders, migrationId: string, runToken: string, items: VerifiedItem[]): Promise<Migration> {
    const { pbx, migration: seen } = await this.migrationForChange(loaders, migrationId);
    if (items.length > MAX_ITEMS_PER_REPORT)
      throw badInput(`At most ${MAX_ITEMS_PER_REPORT} items per report (got ${items.length})`, 'items');
    this.assertHeld(seen, runToken);
    const rows = items.map((item) => this.checkedItem(pbx.id, migrationId, item));
    if (rows.length) {
      try {
        await this.uploads.verifyReported(
          pbx.id,
          seen.region,
          rows.map((row, i) => ({ ...(row as VerifiedItem & { category: Category }), receipt: items[i].receipt })),
        );
      } catch (error) {
        // CDS is still reading objects back: the run is busy, not gone, so it keeps its lease meanwhile.
        if (error instanceof StillVerifying) await this.extendLease(migrationId, runToken);
        throw error;
      }
    }
    let migrated = 0;
    const result = await this.runtime.transact(async (em) => {
      const migration = await this.heldMigration(em, migrationId, runToken);
      const bytesBefore = migration.bytesDone;
      for (let i = 0; i < rows.length; i += 200) {
        // A report confirms the object for this migration: an object verified by an earlier run counts
        // once the agent reports it again (its local file is still there), so a file deleted in between
        // cannot stand in for one that is missing; a file changed since is re-verified with its new checksum.
        await em
          .createQueryBuilder()
          .insert()
          .into(CdsObject)
          .values(rows.slice(i, i + 200))
          .orUpdate(['objectKey', 'sizeBytes', 'sha256', 'migrationId', 'verifiedAt'], ['pbxId', 'category', 'pathHash'])
          .updateEntity(false)
          .execute();
      }
      migration.leaseExpiresAt = new Date(Date.now() + this.leaseMs);
      await this.refreshCounts(em, migration, await em.findBy(MigrationCategory, { migrationId }));
      migrated = migration.bytesDone - bytesBefore;
      return migration;
    });
    this.countMigrated(migrated);
    return result;
  }

  /** The agent is done: every item counted must be verified; then CDS is ACTIVE and usage is known (rule 2). */
  async complete(loaders: StorageLoaders, migrationId: string, runToken: string): Promise<Migration> {
    const { pbx } = await this.migrationForChange(loaders, migrationId);
    return this.runtime
      .transact(async (em) => {
        const migration = await this.heldMigration(em, migrationId, runToken);
        const categories = await em.findBy(MigrationCategory, { migrationId });
        await this.refreshCounts(em, migration, categories, false);
        const missing = sortByCategory(categories).filter((c) => isMigrated(c.category) && c.itemsDone < c.itemsTotal);
        if (missing.length) {
          throw conflict(
            `Migration ${migrationId} cannot complete: ${missing.map((c) => `${c.itemsTotal - c.itemsDone} of ${c.itemsTotal} ${c.category}`).join(' and ')} are not yet verified in CDS`,
          );
        }
        const now = new Date();
        for (const c of categories) if (isMigrated(c.category)) c.state = CategoryState.COMPLETED;
        await em.save(MigrationCategory, categories);
        Object.assign(migration, { status: MigrationStatus.COMPLETED, finishedAt: now, runToken: null, leaseExpiresAt: null, error: null });
        await em.save(Migration, migration);
        await em.update(CdsStatus, { pbxId: pbx.id }, { state: CdsState.ACTIVE, activatedAt: now, region: migration.region });
        const sums = await em
          .createQueryBuilder(CdsObject, 'o')
          .select('o.category', 'category')
          .addSelect('COUNT(*)', 'items')
          .addSelect('COALESCE(SUM(o.sizeBytes), 0)', 'bytes')
          .where('o.pbxId = :pbxId', { pbxId: pbx.id })
          .groupBy('o.category')
          .getRawMany<{ category: DataCategory; items: string | number; bytes: string | number }>();
        for (const sum of sums) {
          await em.save(
            CdsUsage,
            em.create(CdsUsage, { pbxId: pbx.id, category: sum.category, usedBytes: Number(sum.bytes), itemCount: Number(sum.items) }),
          );
        }
        await this.usage.recordUsage(em, pbx.id);
        await this.runtime.emit(em, 'MigrationCompleted', pbx.id, {
          ...(await progressOf(em, migration)),
          region: migration.region,
          completedAt: now.toISOString(),
        });
        return migration;
      })
      .then((migration) => (this.count('completed'), migration));
  }

  /** The agent gives up (an unreadable file, a store that fails): local data stays, the PBX may be activated again. */
  async fail(loaders: StorageLoaders, migrationId: string, runToken: string | null | undefined, error: string): Promise<Migration> {
    const { pbx } = await this.migrationForChange(loaders, migrationId);
    const reason = error.trim().slice(0, 2000);
    if (!reason) throw badInput('Say why the migration failed', 'error');
    return this.runtime
      .transact(async (em) => {
        const migration =
          loaders.scope.identity.role === 'admin'
            ? await em.findOneOrFail(Migration, { where: { id: migrationId }, ...forUpdate(em) })
            : await this.heldMigration(em, migrationId, runToken ?? '');
        this.assertOpen(migration);
        const now = new Date();
        const categories = await em.findBy(MigrationCategory, { migrationId });
        for (const c of categories)
          if (c.state === CategoryState.RUNNING || c.state === CategoryState.PENDING) c.state = CategoryState.FAILED;
        await em.save(MigrationCategory, categories);
        Object.assign(migration, { status: MigrationStatus.FAILED, error: reason, finishedAt: now, runToken: null, leaseExpiresAt: null });
        await em.save(Migration, migration);
        await em.update(CdsStatus, { pbxId: pbx.id }, { state: CdsState.MIGRATION_FAILED });
        await this.runtime.emit(em, 'MigrationFailed', pbx.id, {
          ...(await progressOf(em, migration)),
          error: reason,
          failedAt: now.toISOString(),
        });
        return migration;
      })
      .then((migration) => (this.count('failed'), migration));
  }

  /**
   * Done counts come from objects verified in CDS and reported for this
   * migration, never from what an agent claims. An object verified by an
   * earlier run is not copied again (rule 3); it counts once the agent
   * confirms its local file is still there by reporting it again.
   */
  private async refreshCounts(em: EntityManager, migration: Migration, categories: MigrationCategory[], announce = true): Promise<void> {
    const done = await em
      .createQueryBuilder(CdsObject, 'o')
      .select('o.category', 'category')
      .addSelect('COUNT(*)', 'items')
      .addSelect('COALESCE(SUM(o.sizeBytes), 0)', 'bytes')
      .where('o.pbxId = :pbxId AND o.migrationId = :migrationId', { pbxId: migration.pbxId, migrationId: migration.id })
      .andWhere('o.category IN (:...moving)', { moving: DATA_CATEGORIES.filter(isMigrated) })
      .groupBy('o.category')
      .getRawMany<{ category: DataCategory; items: string | number; bytes: string | number }>();
    for (const c of categories) {
      if (!isMigrated(c.category)) continue;
      const d = done.find((row) => row.category === c.category);
      c.itemsDone = Math.min(Number(d?.items ?? 0), c.itemsTotal);
      c.bytesDone = Math.min(Number(d?.bytes ?? 0), c.bytesTotal);
    }
    await em.save(MigrationCategory, categories);
    Object.assign(migration, migrationTotals(categories));
    await em.save(Migration, migration);
    if (announce) await this.runtime.emit(em, 'MigrationProgressed', migration.pbxId, await progressOf(em, migration));
  }

  private async extendLease(migrationId: string, runToken: string): Promise<void> {
    await this.runtime.transact(async (em) => {
      const migration = await this.heldMigration(em, migrationId, runToken);
      migration.leaseExpiresAt = new Date(Date.now() + this.leaseMs);
      await em.save(Migration, migration);
    });
  }

  private async heldMigration(em: EntityManager, migrationId: string, runToken: string): Promise<Migration> {
    const migration = await em.findOneOrFail(Migration, { where: { id: migrationId }, ...forUpdate(em) });
    this.assertOpen(migration);
    if (!migration.runToken || migration.runToken !== runToken) {
      throw conflict(
        `This agent run does not hold migration ${migrationId} (another run took it, or it was never begun); begin a run first`,
      );
    }
    return migration;
  }

  private assertOpen(migration: Migration): void {
    if (migration.status === MigrationStatus.COMPLETED) throw conflict(`Migration ${migration.id} is already COMPLETED`);
    if (migration.status === MigrationStatus.FAILED) {
      throw conflict(`Migration ${migration.id} FAILED (${migration.error ?? 'no reason given'}); activate CDS again to start a new one`);
    }
  }

  private checkedItem(pbxId: string, migrationId: string, item: VerifiedItem): CdsObject {
    const checked = checkDeclaredItem(item);
    if (typeof item.objectKey !== 'string' || !item.objectKey || item.objectKey.length > 1024)
      throw badInput(`The object key of ${checked.sourcePath} is missing`, 'items');
    return Object.assign(new CdsObject(), {
      pbxId,
      category: checked.category,
      sourcePath: checked.sourcePath,
      pathHash: sourcePathHash(checked.sourcePath),
      objectKey: item.objectKey,
      sizeBytes: checked.sizeBytes,
      sha256: checked.sha256,
      migrationId,
      verifiedAt: new Date(),
    });
  }

  /** A run's commands need the run token the server gave it; checked before any store is read. */
  private assertHeld(migration: Migration, runToken: string): void {
    this.assertOpen(migration);
    if (!migration.runToken || migration.runToken !== runToken) {
      throw conflict(
        `This agent run does not hold migration ${migration.id} (another run took it, or it was never begun); begin a run first`,
      );
    }
  }

  /** Upload grants for items of a migration this run holds (UploadService.grants). */
  async grants(loaders: StorageLoaders, migrationId: string, runToken: string, items: Parameters<UploadService['grants']>[3]) {
    const { pbx, migration } = await this.migrationForChange(loaders, migrationId);
    this.assertHeld(migration, runToken);
    return this.uploads.grants(loaders, migration, pbx.id, items);
  }

  async completeUpload(
    loaders: StorageLoaders,
    migrationId: string,
    runToken: string,
    token: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<string> {
    const { migration } = await this.migrationForChange(loaders, migrationId);
    this.assertHeld(migration, runToken);
    return this.uploads.completeMultipart(loaders, migration, token, parts);
  }

  /** Rule 5 before a purge: CDS re-verifies the copies of these files of a PBX the caller acts for. */
  async checkCopies(loaders: StorageLoaders, pbxId: string, category: Category, sourcePaths: string[]) {
    const pbx = await this.pbxForChange(loaders, pbxId);
    const status = await this.runtime.db.getRepository(CdsStatus).findOneBy({ pbxId: pbx.id });
    if (!status?.region) throw conflict(`PBX ${pbx.id} has no CDS region yet: nothing of it is in CDS`);
    return this.uploads.checkCopies(
      pbx.id,
      status.region,
      category,
      sourcePaths.map((p) => checkSourcePath(p)),
    );
  }

  private async pbxForChange(loaders: StorageLoaders, pbxId: string): Promise<DirectoryPbx> {
    const pbx = await this.runtime.directory.requirePbx(loaders.directory, pbxId.trim().toLowerCase());
    await loaders.scope.assertActs(pbxOwnership(pbx), 'PBX', pbx.id);
    return pbx;
  }

  private async migrationForChange(loaders: StorageLoaders, migrationId: string): Promise<{ migration: Migration; pbx: DirectoryPbx }> {
    requireRole(loaders.scope.identity, ['admin', 'partner', 'pbx'], 'run migrations');
    const migration = await loaders.migration.load(migrationId);
    if (!migration) throw notFound('Migration', migrationId);
    const pbx = await this.pbxForChange(loaders, migration.pbxId);
    return { migration, pbx };
  }

  /** The status row, created NOT_ACTIVATED when missing, locked for this transaction. */
  private async lockStatus(em: EntityManager, pbxId: string): Promise<CdsStatus> {
    const fresh = notActivated(pbxId);
    await em
      .createQueryBuilder()
      .insert()
      .into(CdsStatus)
      .values({ pbxId, state: fresh.state, region: fresh.region, activatedAt: fresh.activatedAt, usedBytes: 0, revision: 0 })
      .orIgnore()
      .execute();
    return em.findOneOrFail(CdsStatus, { where: { pbxId }, ...forUpdate(em) });
  }

  /** Verified objects of a PBX, for an agent resuming (keyset by seq). */
  async verifiedObjects(
    loaders: StorageLoaders,
    pbxId: string,
    category: DataCategory | null | undefined,
    afterSeq: number,
    limit: number,
  ): Promise<CdsObject[]> {
    await this.pbxForChange(loaders, pbxId);
    return this.runtime.db.getRepository(CdsObject).find({
      where: { pbxId, ...(category ? { category } : {}), ...(afterSeq ? { seq: MoreThan(afterSeq) } : {}) },
      order: { seq: 'ASC' },
      take: limit,
    });
  }
}

/** A migration's event payload, with its PBX's owners from the directory replica. */
async function progressOf(em: EntityManager, m: Migration): Promise<MigrationProgressPayload> {
  const owner = await em.findOneBy(DirectoryPbx, { id: m.pbxId });
  return {
    migrationId: m.id,
    pbxId: m.pbxId,
    customerId: owner?.customerId ?? '',
    networkId: owner?.networkId ?? null,
    status: m.status,
    itemsDone: m.itemsDone,
    itemsTotal: m.itemsTotal,
    bytesDone: m.bytesDone,
    bytesTotal: m.bytesTotal,
  };
}
