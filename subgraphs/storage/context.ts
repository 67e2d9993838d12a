import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { StorageLoaders } from './loaders';
import { CdsUsageService } from './usage';

export interface StorageServices {
  runtime: SubgraphRuntime;
  usage: CdsUsageService;
}

export type StorageContext = SubgraphContext<StorageServices, StorageLoaders>;
