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
import { MULTIPART_MIN_BYTES, UploadService } from './uploads';
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
    const stores = RegionStores.fromConfig(runtime.settings.CDS_STORES ?? DEFAULT_CDS_STORES);
    const leaseMs = Number(runtime.settings.MIGRATION_LEASE_SECONDS ?? 30) * 1000;
    const grantSeconds = Number(runtime.settings.UPLOAD_GRANT_SECONDS ?? 900);
    if (!Number.isInteger(grantSeconds) || grantSeconds < 1 || grantSeconds > 86_400)
      throw new Error(`UPLOAD_GRANT_SECONDS must be 1..86400 (got '${runtime.settings.UPLOAD_GRANT_SECONDS}')`);
    const multipartMin = Number(runtime.settings.UPLOAD_MULTIPART_MIN_BYTES ?? MULTIPART_MIN_BYTES);
    if (!Number.isSafeInteger(multipartMin) || multipartMin < 5 * 1024 * 1024)
      throw new Error(
        `UPLOAD_MULTIPART_MIN_BYTES must be a whole number of at least 5 MiB (got '${runtime.settings.UPLOAD_MULTIPART_MIN_BYTES}')`,
      );
    const uploads = new UploadService(runtime, stores, grantSeconds, multipartMin);
    return { runtime, usage, lifecycle: new LifecycleService(runtime, usage, stores, leaseMs, uploads) };
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
