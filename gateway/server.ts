import { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import { Config, SubgraphName, testConfig } from '../kernel/config';
import { serviceLogger } from '../kernel/log';
import { ServiceMetrics } from '../kernel/metrics';
import { assemblePlugins } from '../kernel/plugins/plugin';
import { describeOperations } from '../kernel/request';
import { EventBus } from '../kernel/events/envelope';
import { apolloRoute, corsRoute, healthRoute, listen, Route, RunningHttpServer } from '../kernel/http';
import { Identity, TokenVerifier } from '../kernel/identity';
import { RegionStores } from '../kernel/objectstore/regions';
import { ObjectStore } from '../kernel/objectstore/store';
import { httpReady, Readiness } from '../kernel/readiness';
import { boardRoute, BoardOptions } from './board';
import { playbackRoute } from './playback';
import { Pipeline } from './pipeline';
import { observeFetches } from './plugins/fetch';
import { GatewayContext, GatewayPlugin } from './plugins/types';
import { useLogging } from './plugins/useLogging';
import { useMetrics } from './plugins/useMetrics';
import { useTracing } from './plugins/useTracing';
import { useLimits } from './plugins/useLimits';
import { RateLimitOptions, useRateLimit } from './plugins/useRateLimit';
import { recordingsRestRoute } from './rest-recordings';
import { uploadRoute } from './uploads';
import { SubgraphClient, SubgraphPools, useInflightDedup } from './subgraph-client';
import { SubscriptionCaps } from './subscriptions/caps';
import { SubscriptionEngine } from './subscriptions/engine';
import { sseRoute } from './subscriptions/transports';
import { attachWebSocket } from './subscriptions/ws-protocol';

export type { GatewayContext } from './plugins/types';

export interface GatewayOptions {
  /** the secret upload grants are signed with (the storage subgraph's UPLOAD_GRANT_SECRET, else JWT_SECRET); without it the upload endpoint refuses every upload */
  uploadGrantSecret?: string | null;
  /** the validated configuration (kernel/config.ts): limits, rate limit, WebSocket, CORS, introspection; development defaults when absent */
  config?: Config;
  port: number;
  host?: string;
  supergraphSdl: string;
  /** the URL of each subgraph's /graphql here (overrides the checked-in supergraph's) */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  verifier: TokenVerifier;
  /** overrides of the configured rate limit (tests: a Redis key prefix of their own) */
  rateLimit?: Partial<RateLimitOptions>;
  /** more gateway plugins (gateway/plugins/useX.ts), after the built-in ones */
  plugins?: GatewayPlugin[];
  /** share the reply of an identical subgraph fetch already in flight (same identity; queries only); default on */
  inflightDedup?: boolean;
  /** how long to wait for each subgraph (SUBGRAPH_TIMEOUT_MS, SUBGRAPH_<NAME>_TIMEOUT_MS by default; docs/partial-answers.md) */
  subgraphTimeoutsMs?: Partial<Record<SubgraphName, number>>;
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
  /** the CDS board at /board/ (board/dist); false serves none */
  board?: BoardOptions | false;
  /** collect process metrics (memory, event loop, GC) in the gateway's registry */
  processMetrics?: boolean;
}

export interface RunningGateway {
  url: string;
  http: RunningHttpServer;
  subscriptions: SubscriptionEngine | null;
  caps: SubscriptionCaps;
  metrics: ServiceMetrics;
  /** Graceful: ends subscriptions with a reason, drains in-flight requests (at most `timeoutMs`, SHUTDOWN_TIMEOUT_MS by default), then closes. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const config = options.config ?? testConfig();
  const timeouts = { ...config.subgraphTimeoutsMs, ...options.subgraphTimeoutsMs };
  // @apollo/gateway reports usage to Apollo's servers unless told not to; nothing leaves this deployment.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const log = serviceLogger('gateway');
  const metrics = new ServiceMetrics('gateway', { defaultMetrics: options.processMetrics });
  let engine: SubscriptionEngine | null = null;
  let websocket: ReturnType<typeof attachWebSocket> | null = null;
  // The pipeline's concerns, in order: observability first (it sees every request, refused ones too),
  // then limits refuse what is too big before the rate limit charges for it.
  const plugins: GatewayPlugin[] = [
    { name: 'describeOperations', ...describeOperations() },
    useLogging(log),
    useMetrics(metrics, config.metrics, {
      subscriptions: () => engine?.subscriberCount ?? 0,
      websockets: () => websocket?.connections() ?? 0,
    }),
    useTracing(),
    useLimits(config.graphql.limits),
    useRateLimit({
      perMinute: config.rateLimit.perMinute,
      burst: config.rateLimit.burst,
      perRole: config.rateLimit.perRole,
      redisUrl: config.redisUrl,
      ...options.rateLimit,
    }),
    ...(options.plugins ?? []),
  ];
  const observability = assemblePlugins(plugins);
  const pools = new SubgraphPools();
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    // Each subgraph fetch forwards the caller's own bearer token; subgraphs verify it themselves.
    // The observers (request id, traceparent, metrics) see every fetch, deduplicated ones too.
    buildService: ({ name, url }) =>
      new SubgraphClient({
        name,
        url: options.subgraphUrls[name as SubgraphName] ?? url!,
        pools,
        timeoutMs: timeouts[name as SubgraphName] ?? config.subgraphTimeoutsMs.network,
        plugins: [observeFetches(plugins), ...(options.inflightDedup === false ? [] : [useInflightDedup()])],
      }),
  });
  const apiSchema = Supergraph.build(options.supergraphSdl).apiSchema().toGraphQLJSSchema();
  const pipeline = new Pipeline({
    gateway,
    apiSchema,
    limits: config.graphql.limits,
    introspection: config.graphql.introspection,
    suggestions: config.graphql.suggestions,
    plugins,
  });
  const server = pipeline.server;
  await server.start();
  const context = async (req: IncomingMessage): Promise<GatewayContext> => ({
    identity: await options.verifier.verify(req.headers.authorization),
    transport: 'http',
  });

  // Subscriptions: served here, since @apollo/gateway executes none (docs/subscriptions.md). The engine's own
  // queries (authorising a subscription, building a payload for an event) run through the pipeline as the subscriber.
  const engineQuery = async (query: string, variables: Record<string, unknown>, identity: Identity) =>
    pipeline.execute({ query, variables }, { identity, transport: 'subscription-event' });
  engine = options.bus
    ? new SubscriptionEngine({ schema: apiSchema, execute: engineQuery, bus: options.bus, coalesceMs: options.coalesceMs })
    : null;
  await engine?.start();
  const caps = new SubscriptionCaps({
    perConnection: config.websocket.maxSubscriptionsPerConnection,
    perCaller: config.websocket.maxSubscriptionsPerCaller,
  });

  // Ready when every subgraph is (its database and bus answer) and the bus answers.
  const readiness = new Readiness({
    ...Object.fromEntries(
      [...Supergraph.build(options.supergraphSdl).subgraphs()].map((subgraph) => {
        const url = options.subgraphUrls[subgraph.name as SubgraphName] ?? subgraph.url;
        return [`subgraph:${subgraph.name}`, httpReady(url.replace(/\/graphql\/?$/, '') + '/ready')];
      }),
    ),
    ...(options.bus ? { bus: () => options.bus!.ping() } : {}),
  });

  // REST and playback call the gateway's own /graphql as the caller, so every rule stays in the subgraphs.
  let selfGraphqlUrl = '';
  const graphqlUrl = () => selfGraphqlUrl;
  const ownStores = options.cdsStores ? null : RegionStores.fromEnv();
  const cdsStores = options.cdsStores ?? ownStores!;

  const http = await listen(
    options.port,
    [
      healthRoute(readiness),
      ...observability.routes,
      corsRoute(config.http.corsOrigins),
      ...(options.routes ?? []),
      ...(options.board === false ? [] : [boardRoute(options.board)]),
      recordingsRestRoute({ graphqlUrl, verifier: options.verifier }),
      playbackRoute({ graphqlUrl, verifier: options.verifier, stores: cdsStores, signedLinks: options.playbackLinks ?? null }),
      // Uploads run through the same pipeline as every operation (the caller's identity, limits, the one rate limit).
      uploadRoute({
        verifier: options.verifier,
        admit: (identity) => pipeline.onRequest({ query: '' }, { identity, transport: 'http' }),
        stores: cdsStores,
        grantSecret: options.uploadGrantSecret ?? null,
      }),
      ...(engine
        ? [
            sseRoute('/graphql/stream', {
              schema: apiSchema,
              pipeline,
              engine,
              verifier: options.verifier,
              caps,
              maxBodyBytes: config.http.maxBodyBytes,
            }),
          ]
        : []),
      apolloRoute(server, '/graphql', context, { maxBodyBytes: config.http.maxBodyBytes, admit: pipeline.admitHttp }),
    ],
    options.host ?? config.host,
    observability.hooks,
  );
  observability.listening(http.server);
  selfGraphqlUrl = `${http.url}/graphql`;
  websocket = engine
    ? attachWebSocket(http.server, '/graphql', {
        pipeline,
        engine,
        verifier: options.verifier,
        caps,
        maxPayloadBytes: config.websocket.maxPayloadBytes,
        keepAliveMs: config.websocket.keepAliveMs,
        maxBufferedBytes: config.websocket.maxBufferedBytes,
      })
    : null;
  let stopping: Promise<void> | null = null;
  return {
    url: `${http.url}/graphql`,
    http,
    subscriptions: engine,
    caps,
    metrics,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        // Not ready; no new connections; subscriptions end with a reason; in-flight requests finish; then the rest closes.
        readiness.markDraining();
        const drained = http.drain(timeoutMs);
        const reason = 'The gateway is shutting down; subscribe again';
        await engine?.stop(reason);
        await websocket?.close(reason);
        await drained;
        await server.stop();
        await pools.close();
        await ownStores?.close();
      })();
      return stopping;
    },
  };
}
