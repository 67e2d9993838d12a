import { useTracing as useServiceTracing } from '../../kernel/plugins/useTracing';
import { injectTraceContext } from '../../kernel/tracing';
import type { GatewayPlugin } from './types';

/**
 * The gateway's server span per request (a new trace: a caller's traceparent
 * is not trusted) and W3C `traceparent` on every subgraph fetch, whose spans
 * (`gateway.fetch`) @apollo/gateway makes itself; the subgraph's server span
 * and its SQL statements continue the same trace.
 */
export function useTracing(): GatewayPlugin {
  return {
    name: 'useTracing',
    ...useServiceTracing('gateway', { trustIncoming: false }),
    onSubgraphFetch({ headers }) {
      injectTraceContext(headers);
    },
  };
}
