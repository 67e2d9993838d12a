// The peer "Hive Gateway + Rust query planner (@graphql-hive/router-runtime), defaults",
// forwarding the caller's Authorization header. HIVE_DEDUP=off turns its in-flight
// deduplication of subgraph requests off (on by default).
import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';

export const gatewayConfig = defineConfig({
  unifiedGraphHandler,
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? '' }),
  },
  ...(process.env.HIVE_DEDUP === 'off' ? { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } } : {}),
});
