import { ApolloServerPlugin } from '@apollo/server';
import { ValidationRule } from 'graphql';
import { Identity } from '../../kernel/identity';
import type { ServicePlugin } from '../../kernel/plugins/plugin';
import type { FetchOutcome, SubgraphFetchStart } from './fetch';

/**
 * How an operation reached the gateway. Every client transport runs through
 * the same pipeline (gateway/pipeline.ts); `subscription-event` marks the
 * payload queries the subscription engine runs itself when an event arrives
 * (one per subscriber group, coalesced), which are not client operations.
 */
export type Transport = 'http' | 'websocket' | 'sse' | 'subscription-event';

/** The gateway's request context: who is calling (verified here, and again by each subgraph) and how. */
export interface GatewayContext {
  identity: Identity;
  transport: Transport;
}

/** One operation as a transport received it, before anything parses it. */
export interface GatewayRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * A gateway concern, one per file (`gateway/plugins/useX.ts`), in the style
 * of graphql-yoga / Hive Gateway plugins: a factory returning named hooks.
 * A plugin is an Apollo Server plugin (every hook of the request lifecycle,
 * for HTTP and for queries and mutations over WebSocket and SSE) plus two
 * hooks the pipeline also runs for subscriptions, which Apollo never sees:
 * - `onRequest`: before parsing, for every operation on every transport
 *   (throw a DomainError to refuse it: size, rate limit);
 * - `validationRules`: added to the validation of every operation.
 * Observability plugins (useLogging, useMetrics, useTracing) also use the
 * HTTP-level hooks every service has (kernel/plugins/plugin.ts:
 * `onHttpRequest`, `onResponse`, `routes`, `onListen`) and
 * - `onSubgraphFetch`: before each fetch to a subgraph (may add headers),
 *   returning what to call with its outcome.
 */
export interface GatewayPlugin extends ApolloServerPlugin<GatewayContext>, Omit<ServicePlugin, 'apollo'> {
  readonly name: string;
  readonly validationRules?: readonly ValidationRule[];
  onRequest?(request: GatewayRequest, context: GatewayContext): Promise<void> | void;
  onSubgraphFetch?(fetch: SubgraphFetchStart): ((outcome: FetchOutcome) => void) | void;
}
