import type { SubgraphFetchPlugin } from '../subgraph-client';
import type { GatewayPlugin } from './types';

/** A fetch the gateway is about to send to a subgraph, as the observability plugins see it. */
export interface SubgraphFetchStart {
  subgraph: string;
  /** adds a header to the outgoing request (request id, traceparent) */
  headers: { set(name: string, value: string): void };
}

/** ok: data without errors; error: the subgraph answered with errors; failed: no usable answer (down, timeout, HTTP error). */
export type FetchOutcome = 'ok' | 'error' | 'failed';

/**
 * The subgraph client's plugin (gateway/subgraph-client.ts) that runs every
 * gateway plugin's `onSubgraphFetch` around each fetch: the headers they set
 * go out with it, and each learns the fetch's outcome.
 */
export function observeFetches(plugins: readonly GatewayPlugin[]): SubgraphFetchPlugin {
  const observers = plugins.filter((p) => p.onSubgraphFetch);
  return (next) => async (fetch) => {
    if (!observers.length) return next(fetch);
    const headers: Record<string, string> = { ...fetch.headers };
    const done = observers.flatMap((p) => {
      const finish = p.onSubgraphFetch!({ subgraph: fetch.subgraph, headers: { set: (name, value) => void (headers[name] = value) } });
      return finish ? [finish] : [];
    });
    const report = (outcome: FetchOutcome) => done.forEach((finish) => finish(outcome));
    try {
      const reply = await next({ ...fetch, headers });
      // A cheap look at the text: the body is parsed once, by the client.
      report(reply.status < 200 || reply.status > 299 ? 'failed' : reply.text.includes('"errors":') ? 'error' : 'ok');
      return reply;
    } catch (error) {
      report('failed');
      throw error;
    }
  };
}
