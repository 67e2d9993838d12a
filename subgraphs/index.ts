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

/**
 * The consumer group of every subgraph that applies events: the stream is
 * trimmed, and outbox rows pruned, only below what all of them acknowledged.
 */
export const CONSUMER_GROUPS: readonly SubgraphName[] = (Object.keys(SUBGRAPHS) as SubgraphName[]).filter(
  (name) => SUBGRAPHS[name].usesDirectory || SUBGRAPHS[name].eventAppliers,
);
