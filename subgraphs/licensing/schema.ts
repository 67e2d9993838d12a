import { networkOwnership, pbxOwnership } from '../../kernel/directory';
import { DomainError } from '../../kernel/errors';
import { STORAGE_ALERT_SUBSCRIPTION_SDL, StorageAlertEvent, StorageAlertResolver } from './resolvers/storage-alert.resolver';
import { SubgraphDefinition } from '../../kernel/subgraph';
import { createLicensingServices, LicensingServices } from './context';
import { BundleHolding } from './entities/bundle-holding';
import { BundleTier } from './entities/bundle-tier';
import { HolderLock } from './entities/holder-lock';
import { LegacyLicense } from './entities/legacy-license';
import { PbxUsage } from './entities/pbx-usage';
import { StaticIpAddress } from './entities/static-ip-address';
import { PbxStub, WmsNetworkStub } from './entities/stubs';
import { UsageAlert } from './entities/usage-alert';
import { createLicensingLoaders, LicensingLoaders } from './loaders';
import { LICENSING_MIGRATIONS } from './migrations';
import { BundleTierResolver } from './resolvers/bundle-tier.resolver';
import { BundleResolver } from './resolvers/bundle.resolver';
import { HolderStorageResolver } from './resolvers/holder-storage.resolver';
import { LegacyTransitionResolver } from './resolvers/legacy-transition.resolver';
import { PbxLicensingResolver } from './resolvers/pbx.resolver';
import { LicensingProvisioningResolver } from './resolvers/provisioning.resolver';
import { StaticIpResolver } from './resolvers/static-ip.resolver';
import { WmsNetworkLicensingResolver } from './resolvers/wms-network.resolver';
import { usageAppliers } from './usage-replica';

/** An entity the directory does not know resolves to null; any other failure stays one. */
const nullWhenNotFound = (error: unknown): null => {
  if (error instanceof DomainError && error.code === 'NOT_FOUND') return null;
  throw error;
};

/**
 * The licensing subgraph: the bundle catalogue, the bundles networks and
 * standalone PBXs hold, legacy storage licences, static-IP pools and
 * assignments, and the retention and capacity that follow (DOMAIN.md rules 6-10).
 */
export const licensingSubgraph: SubgraphDefinition<LicensingServices, LicensingLoaders> = {
  name: 'licensing',
  resolvers: [
    StorageAlertResolver,
    BundleTierResolver,
    WmsNetworkLicensingResolver,
    PbxLicensingResolver,
    HolderStorageResolver,
    LicensingProvisioningResolver,
    BundleResolver,
    StaticIpResolver,
    LegacyTransitionResolver,
  ],
  orphanedTypes: [WmsNetworkStub, PbxStub, StorageAlertEvent],
  extraSdl: STORAGE_ALERT_SUBSCRIPTION_SDL,
  entities: [BundleTier, BundleHolding, LegacyLicense, StaticIpAddress, PbxUsage, UsageAlert, HolderLock],
  migrations: LICENSING_MIGRATIONS,
  usesDirectory: true,
  createServices: createLicensingServices,
  createLoaders: (services, identity) => createLicensingLoaders(services.runtime.db, identity),
  eventAppliers: (services) => usageAppliers(services.runtime),
  references: {
    // `_entities` is scoped like every other read: a representation grants nothing by itself.
    // An id the directory does not know yet waits for it to catch up (a network or PBX just
    // provisioned), then resolves to null.
    WmsNetwork: async ({ id }, { loaders, services }) => {
      const network = await services.runtime.directory.requireNetwork(loaders.directory, id).catch(nullWhenNotFound);
      if (!network) return null;
      await loaders.scope.assertSees(networkOwnership(network), 'Network', id);
      return { id: network.id };
    },
    Pbx: async ({ id }, { loaders, services }) => {
      const pbx = await services.runtime.directory.requirePbx(loaders.directory, id.trim().toLowerCase()).catch(nullWhenNotFound);
      if (!pbx) return null;
      await loaders.scope.assertSees(pbxOwnership(pbx), 'PBX', id);
      return { id: pbx.id };
    },
  },
};
