import { DirectoryPbx, createDirectoryLoaders, pbxOwnership } from '../../kernel/directory';
import { Identity } from '../../kernel/identity';
import { groupedLoader, keyedLoader } from '../../kernel/loaders';
import { selectRows } from '../../kernel/rows';
import { Scope } from '../../kernel/scope';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { CdsStatus } from './entities/cds-status';
import { CdsUsage } from './entities/cds-usage';
import { Migration } from './entities/migration';
import { MigrationCategory } from './entities/migration-category';
import { ACTIVE_MIGRATION_STATUSES, sortByCategory } from './rules';

/** Newest first; the id breaks ties so the order never changes between requests. */
const NEWEST_FIRST: [keyof Migration & string, 'DESC'][] = [
  ['createdAt', 'DESC'],
  ['id', 'DESC'],
];

/** Request-scoped loaders of the storage subgraph: one statement per kind of lookup per request. */
export function createStorageLoaders(runtime: SubgraphRuntime, identity: Identity) {
  const { db } = runtime;
  const directory = createDirectoryLoaders(db);
  const loaders = {
    directory,
    /** The row, or null for a PBX never activated (see notActivated). */
    cdsStatus: keyedLoader<string, CdsStatus>(
      (ids) => selectRows(db, CdsStatus, { whereIn: ['pbxId', ids] }),
      (s) => s.pbxId,
    ),
    usageOfPbx: groupedLoader<string, CdsUsage>(
      (ids) => selectRows(db, CdsUsage, { whereIn: ['pbxId', ids] }),
      (u) => u.pbxId,
    ),
    migration: keyedLoader<string, Migration>(
      (ids) => selectRows(db, Migration, { whereIn: ['id', ids] }),
      (m) => m.id,
    ),
    migrationsOfPbx: groupedLoader<string, Migration>(
      (ids) => selectRows(db, Migration, { whereIn: ['pbxId', ids], orderBy: NEWEST_FIRST }),
      (m) => m.pbxId,
    ),
    /** The newest QUEUED or RUNNING migration of each PBX (the PBX's "current" one). */
    currentMigration: keyedLoader<string, Migration>(
      async (ids) => {
        const active = await selectRows(db, Migration, {
          whereIn: ['pbxId', ids],
          and: [['status', ACTIVE_MIGRATION_STATUSES]],
          orderBy: NEWEST_FIRST,
        });
        const newest = new Map<string, Migration>();
        for (const m of active) if (!newest.has(m.pbxId)) newest.set(m.pbxId, m);
        return [...newest.values()];
      },
      (m) => m.pbxId,
    ),
    categoriesOfMigration: groupedLoader<string, MigrationCategory>(
      async (ids) => sortByCategory(await selectRows(db, MigrationCategory, { whereIn: ['migrationId', ids] })),
      (c) => c.migrationId,
    ),
  };
  const scope = new Scope(identity, async (serial) => {
    const own = await directory.pbx.load(serial);
    return own ? pbxOwnership(own) : null;
  });

  /**
   * The PBX as the directory knows it, after checking the caller may see it;
   * null when the directory does not know it even after catching up with the
   * events already published (a PBX registered a moment ago is found), and
   * never older than `revision` when the network subgraph sent one.
   * Throws FORBIDDEN for a PBX outside the caller's scope, naming `as` (the
   * thing asked for, so a refusal does not reveal which PBX a migration is of).
   */
  async function visiblePbx(
    id: string,
    as: { kind: string; id: string } = { kind: 'PBX', id },
    revision?: number | null,
  ): Promise<DirectoryPbx | null> {
    const pbx = await runtime.directory.freshPbx(directory, id, revision);
    if (!pbx) return null;
    await scope.assertSees(pbxOwnership(pbx), as.kind, as.id);
    return pbx;
  }

  return { ...loaders, scope, visiblePbx };
}

export type StorageLoaders = ReturnType<typeof createStorageLoaders>;
