import { readSettings } from '../../kernel/config';
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
import { EventPayloads } from '../../kernel/events/catalog';
import { DEFAULT_CDS_STORES, RegionStores } from '../../kernel/objectstore/regions';
import { CdsObject } from './entities/cds-object';
import { MIGRATION_SUBSCRIPTION_SDL, MigrationProgressEvent } from './entities/migration-progress-event';
import { LifecycleService } from './lifecycle';
import { UploadService } from './uploads';
import { LifecycleResolver } from './resolvers/lifecycle.resolver';
import { UploadResolver } from './resolvers/upload.resolver';
import { OverviewResolver } from './resolvers/overview.resolver';

/** The storage subgraph: CDS state and usage of each PBX, and its migrations into CDS. */
export const storageSubgraph: SubgraphDefinition<StorageServices, StorageLoaders> = {
  name: 'storage',
  resolvers: [PbxStorageResolver, CdsStatusResolver, MigrationResolver, LifecycleResolver, UploadResolver, OverviewResolver],
  orphanedTypes: [PbxStub, MigrationProgressEvent],
  extraSdl: MIGRATION_SUBSCRIPTION_SDL,
  entities: [CdsStatus, CdsUsage, Migration, MigrationCategory, CdsObject],
  migrations: STORAGE_MIGRATIONS,
  usesDirectory: true,
  createServices: (runtime) => {
    const usage = new CdsUsageService(runtime);
    const settings = readSettings(runtime.settings, [
      'CDS_STORES',
      'MIGRATION_LEASE_SECONDS',
      'UPLOAD_GRANT_SECONDS',
      'UPLOAD_MULTIPART_MIN_BYTES',
      'CDS_STORE_WAIT_MS',
    ]);
    const stores = RegionStores.fromConfig(settings.CDS_STORES ?? DEFAULT_CDS_STORES);
    const uploads = new UploadService(
      runtime,
      stores,
      settings.UPLOAD_GRANT_SECONDS,
      settings.UPLOAD_MULTIPART_MIN_BYTES,
      settings.CDS_STORE_WAIT_MS,
    );
    return { runtime, usage, lifecycle: new LifecycleService(runtime, usage, stores, settings.MIGRATION_LEASE_SECONDS * 1000, uploads) };
  },
  eventAppliers: ({ lifecycle }) => ({
    // Rule 1: registering a cloud PBX already on 6.05 or later counts as its first version report.
    PbxRegistered: (em, event) => lifecycle.onPbxVersion(em, (event.payload as EventPayloads['PbxRegistered']).pbx),
    WmsVersionReported: (em, event) => lifecycle.onPbxVersion(em, (event.payload as EventPayloads['WmsVersionReported']).pbx),
  }),
  createLoaders: (services, identity) => createStorageLoaders(services.runtime, identity),
  references: {
    // `_entities` is scoped like every other read: a representation grants nothing by itself.
    Pbx: async (reference, { loaders }) => {
      const { id, revision } = reference as { id: string; revision?: number | null };
      return (await loaders.visiblePbx(id, { kind: 'PBX', id }, revision)) ? pbxStub(id) : null;
    },
    Migration: async ({ id }, { loaders }) => {
      const migration = await loaders.migration.load(id);
      return migration && (await loaders.visiblePbx(migration.pbxId, { kind: 'Migration', id })) ? migration : null;
    },
  },
};
