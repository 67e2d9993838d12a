import type { GatewayPlugin } from './types';

/** A fetch the gateway is about to send to a subgraph. */
export interface SubgraphFetch {
  subgraph: string;
  /** the outgoing request's headers */
  headers: { set(name: string, value: string): void };
}

/** ok: data without errors; error: the subgraph answered with errors; failed: no usable answer (down, timeout, HTTP error). */
export type FetchOutcome = 'ok' | 'error' | 'failed';

/** Runs every plugin's `onSubgraphFetch`; the returned function reports the outcome to each. */
export function subgraphFetchStarted(plugins: readonly GatewayPlugin[], fetch: SubgraphFetch): (outcome: FetchOutcome) => void {
  const done = plugins.flatMap((p) => {
    const finish = p.onSubgraphFetch?.(fetch);
    return finish ? [finish] : [];
  });
  return (outcome) => done.forEach((finish) => finish(outcome));
}
