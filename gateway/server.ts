import { IncomingMessage } from 'node:http';
import { ApolloGateway, GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { Config, SubgraphName, testConfig } from '../kernel/config';
import { toContractError } from '../kernel/errors';
import { apolloRoute, healthRoute, listen, Route, RunningHttpServer } from '../kernel/http';
import { Identity, TokenVerifier } from '../kernel/identity';
import { Supergraph } from '@apollo/federation-internals';
import { DocumentNode, GraphQLError, print } from 'graphql';
import { EventBus } from '../kernel/events/envelope';
import { httpReady, Readiness } from '../kernel/readiness';
import { SubscriptionEngine } from './subscriptions/engine';
import { sseRoute } from './subscriptions/transports';
import { attachWsProtocol } from './subscriptions/ws-protocol';
import { RegionStores } from '../kernel/objectstore/regions';
import { ObjectStore } from '../kernel/objectstore/store';
import { playbackRoute } from './playback';
import { recordingsRestRoute } from './rest-recordings';
import { classify, failedFetchResponse, withTimeout } from './subgraph-faults';
import { complexityRule, DEFAULT_LIMITS, documentSizePlugin, QueryLimits, rateLimitPlugin } from './limits';

/** The gateway's request context: who is calling, verified once here and again by each subgraph. */
export interface GatewayContext {
  identity: Identity;
  /** set for operations the gateway runs itself (subscription payloads): not rate limited */
  internal?: boolean;
}

/**
 * Forwards the caller's own bearer token (subgraphs verify it themselves);
 * gives up on a subgraph after its timeout and answers a failed fetch with
 * errors on the fields it owns (gateway/subgraph-faults.ts).
 */
class IdentityForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string, private readonly subgraph: string, private readonly timeoutMs: number) {
    super({ url });
    this.fetcher = withTimeout(this.fetcher, timeoutMs);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): ReturnType<RemoteGraphQLDataSource['process']> {
    try {
      return await super.process(options);
    } catch (error) {
      // A refusal the subgraph explained (errorFromResponse below) stays what it is.
      if (error instanceof GraphQLError && error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR') throw error;
      const reason = classify(error);
      console.error(`[gateway] ${this.subgraph} fetch failed (${reason}): ${(error as Error).message}`);
      return failedFetchResponse(this.subgraph, reason, this.timeoutMs, options);
    }
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const identity = (context as Partial<GatewayContext>).identity;
    if (identity) request.http?.headers.set('authorization', identity.authorization);
  }

  /**
   * A subgraph refuses a request it cannot even execute (a malformed DateTime
   * or SafeInt variable: the gateway's schema has no parsers for custom
   * scalars) with HTTP 400 and GraphQL errors; pass its first error on, code
   * and message, instead of a bare "400: Bad Request".
   */
  override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0]): Promise<GraphQLError> {
    const error = await super.errorFromResponse(response);
    const body = (error.extensions?.response as { body?: { errors?: { message?: string; extensions?: { code?: string } }[] } } | undefined)?.body;
    const first = typeof body === 'object' ? body?.errors?.[0] : undefined;
    if (!first?.message || !first.extensions?.code) return error;
    return new GraphQLError(first.message, { extensions: { code: first.extensions.code } });
  }
}

export interface GatewayOptions {
  /** the validated configuration (kernel/config.ts); development defaults when absent */
  config?: Config;
  port: number;
  host?: string;
  supergraphSdl: string;
  /** the URL of each subgraph's /graphql here (overrides the checked-in supergraph's) */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  verifier: TokenVerifier;
  /** how long to wait for each subgraph (SUBGRAPH_TIMEOUT_MS, SUBGRAPH_<NAME>_TIMEOUT_MS by default) */
  subgraphTimeoutsMs?: Partial<Record<SubgraphName, number>>;
  limits?: QueryLimits;
  rateLimit?: { perMinute: number; burst: number };
  /** extra routes served before /graphql (IDE, REST) */
  routes?: Route[];
  /** the event bus whose live tail feeds subscriptions; without it the gateway serves none */
  bus?: EventBus;
  /** subscription progress coalescing interval (ms) */
  coalesceMs?: number;
  /** where playback reads recordings (the same CDS_STORES as the storage subgraph); from the environment by default */
  cdsStores?: { forRegion(region: string): ObjectStore };
  /** secrets for signed playback links (HS256 deployments); without them playback takes bearer tokens only */
  playbackLinks?: { linkSecret: string; jwtSecret: string } | null;
}

export interface RunningGateway {
  url: string;
  http: RunningHttpServer;
  subscriptions: SubscriptionEngine | null;
  /** Graceful: ends subscriptions with a reason, drains in-flight requests (at most `timeoutMs`, SHUTDOWN_TIMEOUT_MS by default), then closes. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const config = options.config ?? testConfig();
  const timeouts = { ...config.subgraphTimeoutsMs, ...options.subgraphTimeoutsMs };
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new IdentityForwardingDataSource(options.subgraphUrls[name as SubgraphName] ?? url ?? '', name, timeouts[name as SubgraphName] ?? 10_000),
  });
  const limits = options.limits ?? DEFAULT_LIMITS;
  const rate = options.rateLimit ?? { perMinute: 6000, burst: 1000 };
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [complexityRule(limits)],
    formatError: (formatted, error) => {
      const shaped = toContractError(formatted, error);
      if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR' && !shaped.extensions.subgraph) console.error('[gateway]', error);
      return shaped;
    },
    plugins: [ApolloServerPluginLandingPageDisabled(), documentSizePlugin(limits), rateLimitPlugin(rate.perMinute, rate.burst)],
    // Shutdown is ours (kernel/lifecycle.ts): Apollo's handler would end the process before requests drain.
    stopOnTerminationSignals: false,
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<GatewayContext> => ({ identity: await options.verifier.verify(req.headers.authorization) });

  // Subscriptions: served here, since @apollo/gateway executes none (docs/subscriptions.md).
  const apiSchema = Supergraph.build(options.supergraphSdl).apiSchema().toGraphQLJSSchema();
  const run = async (query: string, variables: Record<string, unknown> | null | undefined, identity: Identity, operationName?: string | null) => {
    const response = await server.executeOperation({ query, variables: variables ?? {}, operationName: operationName ?? undefined }, { contextValue: { identity, internal: true } });
    if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported here');
    const result = response.body.singleResult;
    return { data: (result.data ?? null) as Record<string, unknown> | null, errors: result.errors?.map((e) => toContractError(e)) };
  };
  const engine = options.bus ? new SubscriptionEngine({ schema: apiSchema, execute: run, bus: options.bus, coalesceMs: options.coalesceMs }) : null;
  await engine?.start();
  const transport = engine ? {
    schema: apiSchema, engine, verifier: options.verifier,
    executeOperation: async (document: DocumentNode, variables: Record<string, unknown> | null | undefined, identity: Identity, operationName?: string | null) => {
      const result = await run(print(document), variables, identity, operationName);
      return { data: result.data, errors: result.errors?.map((e) => new GraphQLError(e.message, { extensions: e.extensions })) };
    },
  } : null;

  // Ready when every subgraph is (its database and bus answer) and the bus answers.
  const supergraph = Supergraph.build(options.supergraphSdl);
  const readiness = new Readiness({
    ...Object.fromEntries([...supergraph.subgraphs()].map((subgraph) => {
      const url = options.subgraphUrls[subgraph.name as SubgraphName] ?? subgraph.url;
      return [`subgraph:${subgraph.name}`, httpReady(url.replace(/\/graphql\/?$/, '') + '/ready')];
    })),
    ...(options.bus ? { bus: () => options.bus!.ping() } : {}),
  });

  // REST and playback call the gateway's own /graphql as the caller, so every rule stays in the subgraphs.
  let selfGraphqlUrl = '';
  const graphqlUrl = () => selfGraphqlUrl;
  const ownStores = options.cdsStores ? null : RegionStores.fromEnv();
  const cdsStores = options.cdsStores ?? ownStores!;

  const http = await listen(options.port, [
    healthRoute(readiness),
    ...(options.routes ?? []),
    recordingsRestRoute({ graphqlUrl, verifier: options.verifier }),
    playbackRoute({ graphqlUrl, verifier: options.verifier, stores: cdsStores, signedLinks: options.playbackLinks ?? null }),
    ...(transport ? [sseRoute('/graphql/stream', transport)] : []),
    apolloRoute(server, '/graphql', context),
  ], options.host ?? config.host);
  selfGraphqlUrl = `${http.url}/graphql`;
  const websocket = transport ? attachWsProtocol(http.server, '/graphql', {
    verifier: options.verifier,
    subscribe: (document, variables, identity, operationName) => engine!.subscribe(document, variables, identity, operationName),
    execute: transport.executeOperation,
  }) : null;
  let stopping: Promise<void> | null = null;
  return {
    url: `${http.url}/graphql`,
    http,
    subscriptions: engine,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        // Not ready; subscriptions end with a reason; in-flight requests finish; then the rest closes.
        readiness.markDraining();
        const drained = http.drain(timeoutMs); // stops accepting at once
        const reason = 'The gateway is shutting down; subscribe again';
        await engine?.stop(reason);
        await websocket?.close(reason);
        await drained;
        await server.stop();
        await ownStores?.close();
      })();
      return stopping;
    },
  };
}
