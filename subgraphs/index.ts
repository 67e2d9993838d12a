import { SubgraphName } from '../kernel/config';
import { SubgraphDefinition } from '../kernel/subgraph';
import { licensingSubgraph } from './licensing/schema';
import { networkSubgraph } from './network/schema';
import { recordingsSubgraph } from './recordings/schema';
import { storageSubgraph } from './storage/schema';

/** The four subgraphs by name. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each definition has its own service/loader types
export const SUBGRAPHS: Record<SubgraphName, SubgraphDefinition<any, any>> = {
  network: networkSubgraph,
  storage: storageSubgraph,
  recordings: recordingsSubgraph,
  licensing: licensingSubgraph,
};
