import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { NetworkLoaders } from './loaders';
import { ProvisioningService } from './provisioning';

export interface NetworkServices {
  runtime: SubgraphRuntime;
  provisioning: ProvisioningService;
}

export type NetworkContext = SubgraphContext<NetworkServices, NetworkLoaders>;
