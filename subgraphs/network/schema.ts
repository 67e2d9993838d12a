import { SubgraphDefinition } from '../../kernel/subgraph';
import { NetworkServices } from './context';
import { Customer } from './entities/customer';
import { Pbx } from './entities/pbx';
import { WmsNetwork } from './entities/wms-network';
import { createNetworkLoaders, customerOwnershipOf, NetworkLoaders, networkOwnershipOf, pbxOwnershipOf } from './loaders';
import { NETWORK_MIGRATIONS } from './migrations';
import { ProvisioningService } from './provisioning';
import { CustomerResolver } from './resolvers/customer.resolver';
import { PbxResolver } from './resolvers/pbx.resolver';
import { ProvisioningResolver } from './resolvers/provisioning.resolver';
import { WmsNetworkResolver } from './resolvers/wms-network.resolver';

/** The network subgraph: customers, WMS networks and PBXs, and their provisioning. */
export const networkSubgraph: SubgraphDefinition<NetworkServices, NetworkLoaders> = {
  name: 'network',
  resolvers: [CustomerResolver, WmsNetworkResolver, PbxResolver, ProvisioningResolver],
  entities: [Customer, WmsNetwork, Pbx],
  migrations: NETWORK_MIGRATIONS,
  usesDirectory: false,
  createServices: (runtime) => ({ runtime, provisioning: new ProvisioningService(runtime) }),
  createLoaders: (services, identity) => createNetworkLoaders(services.runtime.db, identity),
  references: {
    // `_entities` is scoped like every other read: a representation grants nothing by itself.
    Customer: async ({ id }, { loaders }) => {
      const customer = await loaders.customer.load(id);
      if (customer) await loaders.scope.assertSees(customerOwnershipOf(customer), 'Customer', id);
      return customer;
    },
    WmsNetwork: async ({ id }, { loaders }) => {
      const network = await loaders.network.load(id);
      if (network) await loaders.scope.assertSees(networkOwnershipOf(network), 'Network', id);
      return network;
    },
    Pbx: async ({ id }, { loaders }) => {
      const pbx = await loaders.pbx.load(id);
      if (pbx) await loaders.scope.assertSees(pbxOwnershipOf(pbx), 'PBX', id);
      return pbx;
    },
  },
};
