import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { BundleService } from './bundles';
import { LegacyTransitionService } from './legacy-transition';
import { LicensingLoaders } from './loaders';
import { ProvisioningService } from './provisioning';
import { StaticIpService } from './static-ips';
import { LicensingWrites } from './writes';

export interface LicensingServices {
  runtime: SubgraphRuntime;
  provisioning: ProvisioningService;
  bundles: BundleService;
  staticIps: StaticIpService;
  legacyTransition: LegacyTransitionService;
}

export function createLicensingServices(runtime: SubgraphRuntime): LicensingServices {
  const writes = new LicensingWrites(runtime);
  return {
    runtime,
    provisioning: new ProvisioningService(runtime),
    bundles: new BundleService(runtime, writes),
    staticIps: new StaticIpService(runtime, writes),
    legacyTransition: new LegacyTransitionService(runtime, writes),
  };
}

export type LicensingContext = SubgraphContext<LicensingServices, LicensingLoaders>;
