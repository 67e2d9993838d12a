import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { LicensingLoaders } from './loaders';
import { ProvisioningService } from './provisioning';

export interface LicensingServices {
  runtime: SubgraphRuntime;
  provisioning: ProvisioningService;
}

export type LicensingContext = SubgraphContext<LicensingServices, LicensingLoaders>;
