import { SubgraphDefinition } from '../../kernel/subgraph';
import { StorageServices } from './context';
import { CdsStatus } from './entities/cds-status';
import { CdsUsage } from './entities/cds-usage';
import { Migration } from './entities/migration';
import { MigrationCategory } from './entities/migration-category';
import { PbxStub, pbxStub } from './entities/pbx-stub';
import { createStorageLoaders, StorageLoaders } from './loaders';
import { STORAGE_MIGRATIONS } from './migrations';
import { CdsStatusResolver } from './resolvers/cds-status.resolver';
import { MigrationResolver } from './resolvers/migration.resolver';
import { PbxStorageResolver } from './resolvers/pbx.resolver';
import { CdsUsageService } from './usage';

/** The storage subgraph: CDS state and usage of each PBX, and its migrations into CDS. */
export const storageSubgraph: SubgraphDefinition<StorageServices, StorageLoaders> = {
  name: 'storage',
  resolvers: [PbxStorageResolver, CdsStatusResolver, MigrationResolver],
  orphanedTypes: [PbxStub],
  entities: [CdsStatus, CdsUsage, Migration, MigrationCategory],
  migrations: STORAGE_MIGRATIONS,
  usesDirectory: true,
  createServices: (runtime) => ({ runtime, usage: new CdsUsageService(runtime) }),
  createLoaders: (services, identity) => createStorageLoaders(services.runtime, identity),
  references: {
    // `_entities` is scoped like every other read: a representation grants nothing by itself.
    Pbx: async ({ id }, { loaders }) => ((await loaders.visiblePbx(id)) ? pbxStub(id) : null),
    Migration: async ({ id }, { loaders }) => {
      const migration = await loaders.migration.load(id);
      return migration && (await loaders.visiblePbx(migration.pbxId, { kind: 'Migration', id })) ? migration : null;
    },
  },
};
