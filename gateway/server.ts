import { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { SubgraphName } from '../kernel/config';
import { toContractError } from '../kernel/errors';
import { apolloRoute, healthRoute, listen, Route, RunningHttpServer } from '../kernel/http';
import { Identity, TokenVerifier } from '../kernel/identity';
import { Supergraph } from '@apollo/federation-internals';
import { DocumentNode, GraphQLError, print } from 'graphql';
import { EventBus } from '../kernel/events/envelope';
import { SubscriptionEngine } from './subscriptions/engine';
import { sseRoute } from './subscriptions/transports';
import { attachWsProtocol } from './subscriptions/ws-protocol';
import { RegionStores } from '../kernel/objectstore/regions';
import { ObjectStore } from '../kernel/objectstore/store';
import { playbackRoute } from './playback';
import { recordingsRestRoute } from './rest-recordings';
import { SubgraphClient, SubgraphPools, useInflightDedup } from './subgraph-client';
import { complexityRule, DEFAULT_LIMITS, documentSizePlugin, QueryLimits, rateLimitPlugin } from './limits';

/** The gateway's request context: who is calling, verified once here and again by each subgraph. */
export interface GatewayContext {
  identity: Identity;
  /** set for operations the gateway runs itself (subscription payloads): not rate limited */
  internal?: boolean;
}

export interface GatewayOptions {
  port: number;
  host?: string;
  supergraphSdl: string;
  /** the URL of each subgraph's /graphql here (overrides the checked-in supergraph's) */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  verifier: TokenVerifier;
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
  /** share the reply of an identical subgraph fetch already in flight (same identity; queries only); default on */
  inflightDedup?: boolean;
  /** secrets for signed playback links (HS256 deployments); without them playback takes bearer tokens only */
  playbackLinks?: { linkSecret: string; jwtSecret: string } | null;
}

export interface RunningGateway {
  url: string;
  http: RunningHttpServer;
  subscriptions: SubscriptionEngine | null;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  // Each subgraph fetch forwards the caller's own bearer token; subgraphs verify it themselves.
  const pools = new SubgraphPools();
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) => new SubgraphClient({
      name,
      url: options.subgraphUrls[name as SubgraphName] ?? url!,
      pools,
      plugins: options.inflightDedup === false ? [] : [useInflightDedup()],
    }),
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
      if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR') console.error('[gateway]', error);
      return shaped;
    },
    // No cache hints are set anywhere: the cache-control plugin would only cost time.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), documentSizePlugin(limits), rateLimitPlugin(rate.perMinute, rate.burst)],
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<GatewayContext> => ({ identity: options.verifier.verify(req.headers.authorization) });

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

  // REST and playback call the gateway's own /graphql as the caller, so every rule stays in the subgraphs.
  let selfGraphqlUrl = '';
  const graphqlUrl = () => selfGraphqlUrl;
  const ownStores = options.cdsStores ? null : RegionStores.fromEnv();
  const cdsStores = options.cdsStores ?? ownStores!;

  const http = await listen(options.port, [
    healthRoute(async () => true),
    ...(options.routes ?? []),
    recordingsRestRoute({ graphqlUrl, verifier: options.verifier }),
    playbackRoute({ graphqlUrl, verifier: options.verifier, stores: cdsStores, signedLinks: options.playbackLinks ?? null }),
    ...(transport ? [sseRoute('/graphql/stream', transport)] : []),
    apolloRoute(server, '/graphql', context),
  ], options.host ?? '0.0.0.0');
  selfGraphqlUrl = `${http.url}/graphql`;
  const websocket = transport ? attachWsProtocol(http.server, '/graphql', {
    verifier: options.verifier,
    subscribe: (document, variables, identity, operationName) => engine!.subscribe(document, variables, identity, operationName),
    execute: transport.executeOperation,
  }) : null;
  return {
    url: `${http.url}/graphql`,
    http,
    subscriptions: engine,
    async stop() {
      await websocket?.close();
      await engine?.stop();
      await http.close();
      await server.stop();
      await pools.close();
      await ownStores?.close();
    },
  };
}
