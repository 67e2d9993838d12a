import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { StorageLoaders } from './loaders';
import { LifecycleService } from './lifecycle';
import { CdsUsageService } from './usage';

export interface StorageServices {
  runtime: SubgraphRuntime;
  usage: CdsUsageService;
  lifecycle: LifecycleService;
}

export type StorageContext = SubgraphContext<StorageServices, StorageLoaders>;
