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
import { SubscriptionEngine } from './subscriptions/engine';
import { sseRoute } from './subscriptions/transports';
import { attachWsProtocol } from './subscriptions/ws-protocol';
import { RegionStores } from '../kernel/objectstore/regions';
import { ObjectStore } from '../kernel/objectstore/store';
import { playbackRoute } from './playback';
import { recordingsRestRoute } from './rest-recordings';
import { complexityRule, DEFAULT_LIMITS, documentSizePlugin, QueryLimits, rateLimitPlugin } from './limits';
import { serviceLogger } from '../kernel/log';
import { ServiceMetrics } from '../kernel/metrics';
import { assemblePlugins } from '../kernel/plugins/plugin';
import { GatewayPlugin, subgraphFetchStarted, FetchOutcome } from './plugins/plugin';
import { useLogging } from './plugins/useLogging';
import { useMetrics } from './plugins/useMetrics';
import { useTracing } from './plugins/useTracing';

/** The gateway's request context: who is calling, verified once here and again by each subgraph. */
export interface GatewayContext {
  identity: Identity;
  /** set for operations the gateway runs itself (subscription payloads): not rate limited */
  internal?: boolean;
}

/**
 * Forwards the caller's own bearer token (subgraphs verify it themselves) and
 * lets the plugins see each fetch (request id, traceparent, metrics).
 */
class IdentityForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly pending = new WeakMap<object, (outcome: FetchOutcome) => void>();

  constructor(private readonly subgraph: string, url: string | undefined, private readonly plugins: readonly GatewayPlugin[]) {
    super({ url });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const identity = (context as Partial<GatewayContext>).identity;
    if (identity) request.http?.headers.set('authorization', identity.authorization);
    if (request.http) this.pending.set(request, subgraphFetchStarted(this.plugins, { subgraph: this.subgraph, headers: request.http.headers }));
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): ReturnType<RemoteGraphQLDataSource<GatewayContext>['process']> {
    const done = () => {
      const finish = this.pending.get(options.request);
      this.pending.delete(options.request);
      return finish ?? (() => undefined);
    };
    try {
      const response = await super.process(options);
      done()(response.errors?.length ? 'error' : 'ok');
      return response;
    } catch (error) {
      done()('failed');
      throw error;
    }
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
  /** collect process metrics (memory, event loop, GC) in the gateway's registry */
  processMetrics?: boolean;
}

export interface RunningGateway {
  url: string;
  http: RunningHttpServer;
  subscriptions: SubscriptionEngine | null;
  metrics: ServiceMetrics;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const config = options.config ?? testConfig();
  // @apollo/gateway reports usage to Apollo's servers unless told not to; nothing leaves this deployment.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const log = serviceLogger('gateway');
  const metrics = new ServiceMetrics('gateway', { defaultMetrics: options.processMetrics });
  let engine: SubscriptionEngine | null = null;
  let websocket: ReturnType<typeof attachWsProtocol> | null = null;
  const plugins: GatewayPlugin[] = [
    useLogging(log),
    useMetrics(metrics, config.metrics, { subscriptions: () => engine?.subscriberCount ?? 0, websockets: () => websocket?.connections() ?? 0 }),
    useTracing(),
  ];
  const observability = assemblePlugins(plugins);
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new IdentityForwardingDataSource(name, options.subgraphUrls[name as SubgraphName] ?? url, plugins),
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
      if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error }, 'operation failed');
      return shaped;
    },
    plugins: [ApolloServerPluginLandingPageDisabled(), ...observability.apollo, documentSizePlugin(limits), rateLimitPlugin(rate.perMinute, rate.burst)],
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
  engine = options.bus ? new SubscriptionEngine({ schema: apiSchema, execute: run, bus: options.bus, coalesceMs: options.coalesceMs }) : null;
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
    ...observability.routes,
    ...(options.routes ?? []),
    recordingsRestRoute({ graphqlUrl, verifier: options.verifier }),
    playbackRoute({ graphqlUrl, verifier: options.verifier, stores: cdsStores, signedLinks: options.playbackLinks ?? null }),
    ...(transport ? [sseRoute('/graphql/stream', transport)] : []),
    apolloRoute(server, '/graphql', context),
  ], options.host ?? config.host, observability.hooks);
  observability.listening(http.server);
  selfGraphqlUrl = `${http.url}/graphql`;
  websocket = transport ? attachWsProtocol(http.server, '/graphql', {
    verifier: options.verifier,
    subscribe: (document, variables, identity, operationName) => engine!.subscribe(document, variables, identity, operationName),
    execute: transport.executeOperation,
  }) : null;
  return {
    url: `${http.url}/graphql`,
    http,
    subscriptions: engine,
    metrics,
    async stop() {
      await websocket?.close();
      await engine?.stop();
      await http.close();
      await server.stop();
      await ownStores?.close();
    },
  };
}
