import { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { GraphQLSchema, parse } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { buildSchema, createResolversMap, NonEmptyArray } from 'type-graphql';
import { DataSource, EntityManager, MixedList, EntitySchema } from 'typeorm';
import { EventPayloads, EventType } from './events/catalog';
import { Config, DatabaseConfig, SubgraphName, testConfig } from './config';
import { openDatabase, SqlCounter } from './database';
import { Directory, DIRECTORY_ENTITIES, CreateDirectoryTables1700000000001, directoryAppliers } from './directory';
import { toContractError } from './errors';
import { checkDocumentSize, checkVariables, limitRules, parseOptionsFor } from './graphql/limits';
import { Consumption, EventBus } from './events/envelope';
import {
  EVENT_MIGRATIONS,
  EVENT_ENTITIES,
  EventApplier,
  combineAppliers,
  idempotentApplier,
  OutboxRelay,
  recordEvent,
} from './events/outbox';
import { healthRoute, apolloRoute, listen, RunningHttpServer } from './http';
import { Identity, TokenVerifier } from './identity';
import { Readiness } from './readiness';
import { Logger, serviceLogger } from './log';
import { ServiceMetrics } from './metrics';
import { assemblePlugins, ServicePlugin } from './plugins/plugin';
import { useLogging } from './plugins/useLogging';
import { useMetrics } from './plugins/useMetrics';
import { useTracing } from './plugins/useTracing';
import { traceStatements } from './tracing';

/** How long a mutation waits for its events to leave before answering anyway (the relay sends them later). */
const PUBLISH_WAIT_MS = 1_000;

/** The federation features our subgraphs use. */
const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible"])`;

/** Everything long-lived a subgraph instance has: its own database, the bus, its outbox and its directory replica. */
export interface SubgraphRuntime {
  name: SubgraphName;
  db: DataSource;
  bus: EventBus;
  relay: OutboxRelay;
  counter: SqlCounter;
  directory: Directory;
  /** this subgraph's logger and metrics (its own Registry, served at /metrics) */
  log: Logger;
  metrics: ServiceMetrics;
  /** Settings by name (the process environment, or what a test stack passes) */
  settings: Readonly<Record<string, string | undefined>>;
  /** Runs `work` in one transaction, then sends the events it recorded (see recordEvent). */
  transact<T>(work: (em: EntityManager) => Promise<T>): Promise<T>;
  /** Records an event in the outbox of the transaction `em` belongs to. */
  emit<T extends EventType>(em: EntityManager, type: T, key: string, payload: EventPayloads[T]): Promise<void>;
}

/** The typed context of every resolver: who asks, this request's loaders, the subgraph's services. */
export interface SubgraphContext<S, L> {
  identity: Identity;
  loaders: L;
  services: S;
}

type ReferenceResolver<C> = (reference: { __typename: string; id: string }, context: C) => Promise<unknown>;

/**
 * One subgraph, declared: its GraphQL classes, its tables, how its services
 * and request-scoped loaders are built, and the events it applies. Each
 * subgraph folder exports one of these; `startSubgraph` serves any of them.
 */
export interface SubgraphDefinition<S, L> {
  name: SubgraphName;
  resolvers: NonEmptyArray<Function>;
  /** entity stubs only reachable through `_entities` (type-graphql drops them otherwise) */
  orphanedTypes?: Function[];
  /**
   * SDL added to the generated schema: the Subscription fields this subgraph
   * declares for the supergraph. The gateway serves them (gateway/subscriptions);
   * a subgraph has no resolvers for them.
   */
  extraSdl?: string;
  references: Record<string, ReferenceResolver<SubgraphContext<S, L>>>;
  entities: MixedList<Function | string | EntitySchema>;
  migrations: Function[];
  /** whether this subgraph keeps the directory replica (every subgraph but network) */
  usesDirectory: boolean;
  createServices(runtime: SubgraphRuntime): S;
  createLoaders(services: S, identity: Identity): L;
  eventAppliers?(services: S): Record<string, EventApplier>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds definitions of any service/loader types
type AnyDefinition = SubgraphDefinition<any, any>;

const schemaCache = new WeakMap<AnyDefinition, Promise<GraphQLSchema>>();

/** Builds the federated schema of a subgraph from its type-graphql classes (cached per definition). */
export function buildSubgraph(definition: AnyDefinition): Promise<GraphQLSchema> {
  let built = schemaCache.get(definition);
  if (!built) {
    built = (async () => {
      const typeGraphQLSchema = await buildSchema({
        resolvers: definition.resolvers,
        orphanedTypes: definition.orphanedTypes,
        scalarsMap: [{ type: Date, scalar: GraphQLDateTime }],
        skipCheck: true,
        validate: false,
      });
      const resolvers = createResolversMap(typeGraphQLSchema) as GraphQLResolverMap<unknown>;
      for (const [typeName, resolveReference] of Object.entries(definition.references)) {
        resolvers[typeName] = {
          ...(resolvers[typeName] as object),
          __resolveReference: resolveReference,
        } as GraphQLResolverMap<unknown>[string];
      }
      return buildSubgraphSchema({
        typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(typeGraphQLSchema)}\n${definition.extraSdl ?? ''}`),
        resolvers,
      });
    })();
    schemaCache.set(definition, built);
  }
  return built;
}

/** The subgraph's SDL as the gateway composes it (checked into schema/). */
export async function printSubgraphSdl(definition: AnyDefinition): Promise<string> {
  return printSubgraphSchema(await buildSubgraph(definition));
}

export interface SubgraphOptions {
  port: number;
  host?: string;
  db: DatabaseConfig;
  bus: EventBus;
  verifier: TokenVerifier;
  /** keep each SQL text (tests) */
  keepStatements?: boolean;
  /** settings read by subgraphs (e.g. CDS_STORES); defaults to the process environment */
  settings?: Readonly<Record<string, string | undefined>>;
  /** the validated configuration (kernel/config.ts); development defaults when absent */
  config?: Config;
  /** collect process metrics (memory, event loop) in this subgraph's registry: when it has the process to itself */
  processMetrics?: boolean;
  /** observability plugins beyond the standard ones (logs, metrics, traces) */
  plugins?: ServicePlugin[];
}

export interface RunningSubgraph<S = unknown> {
  name: SubgraphName;
  url: string;
  http: RunningHttpServer;
  runtime: SubgraphRuntime;
  services: S;
  /** Graceful: drains in-flight requests (at most `timeoutMs`, SHUTDOWN_TIMEOUT_MS by default), stops consuming, flushes the outbox, closes the database. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Opens the database, starts consuming events, and serves the subgraph over HTTP at /graphql. */
export async function startSubgraph<S, L>(definition: SubgraphDefinition<S, L>, options: SubgraphOptions): Promise<RunningSubgraph<S>> {
  const config = options.config ?? testConfig();
  const counter = new SqlCounter(options.keepStatements, config.logSqlErrors);
  const log = serviceLogger(definition.name);
  const metrics = new ServiceMetrics(definition.name, { defaultMetrics: options.processMetrics });
  const db = await openDatabase({
    db: options.db,
    entities: [...EVENT_ENTITIES, ...(definition.usesDirectory ? DIRECTORY_ENTITIES : []), ...(definition.entities as Function[])],
    migrations: [...EVENT_MIGRATIONS, ...(definition.usesDirectory ? [CreateDirectoryTables1700000000001] : []), ...definition.migrations],
    counter,
  });
  traceStatements(db);
  let consumption: Consumption | null = null;
  const settings = options.settings ?? process.env;
  const relay = new OutboxRelay(db, options.bus, {
    intervalMs: config.events.relayIntervalMs,
    maintenanceMs: config.events.maintenanceMs,
    inboxRetentionMs: config.events.inboxRetentionMs,
  });
  const runtime: SubgraphRuntime = {
    name: definition.name,
    db,
    bus: options.bus,
    relay,
    counter,
    log,
    metrics,
    directory: new Directory(() => consumption),
    settings,
    async transact(work) {
      const result = await db.transaction(work);
      // The events are committed; sending them now is an optimisation, the relay's timer is the guarantee.
      // A bus that is down must not hold the answer (the change is made): wait a moment, never longer.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        relay.flush().catch((error) => log.warn({ err: error }, 'outbox flush failed; will retry')),
        new Promise((resolve) => {
          timer = setTimeout(resolve, PUBLISH_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
      return result;
    },
    emit: (em, type, key, payload) => recordEvent(em, definition.name, type, key, payload),
  };
  const services = definition.createServices(runtime);
  // The directory learns of a PBX before the subgraph's own appliers react to the same event.
  const appliers = combineAppliers(definition.usesDirectory ? directoryAppliers() : {}, definition.eventAppliers?.(services) ?? {});
  if (Object.keys(appliers).length) {
    consumption = await options.bus.consume(
      definition.name,
      idempotentApplier(db, definition.name, appliers, () => relay.flush()),
      {
        // A poison event is set aside only while the database answers: an outage makes events wait, never lose them.
        healthy: () => db.query('SELECT 1'),
      },
    );
  }
  relay.start();
  await relay.flush();
  metrics.gauge('cds_outbox_backlog', 'Events written to the outbox and not yet published to the bus', () => relay.backlog());
  metrics.gauge(
    'cds_event_lag',
    'Events published and not yet handled by this subgraph, by consumer group',
    async () => (consumption ? [[{ consumer: definition.name }, await consumption.lag()]] : []),
    ['consumer'],
  );
  const observability = assemblePlugins([
    useLogging(log),
    useMetrics(metrics, config.metrics),
    useTracing(definition.name, { trustIncoming: true }),
    ...(options.plugins ?? []),
  ]);

  // The same limits as the gateway (kernel/graphql/limits.ts): reaching a subgraph directly grants nothing more.
  // A query plan's entity fetch wraps a selection in `_entities { ... on T }` (one level deeper than the
  // client's), and the planner may inline the client's fragments (longer text, the same cost and aliases).
  const base = config.graphql.limits;
  const limits = { ...base, maxDepth: base.maxDepth + 1, maxDocumentBytes: base.maxDocumentBytes * 4, maxTokens: base.maxTokens * 4 };
  const server = new ApolloServer<SubgraphContext<S, L>>({
    schema: await buildSubgraph(definition),
    introspection: config.graphql.introspection,
    hideSchemaDetailsFromClientErrors: !config.graphql.suggestions,
    parseOptions: parseOptionsFor(limits),
    validationRules: limitRules(limits),
    // Bearer tokens, never cookies: see gateway/pipeline.ts. The gateway's requests are POSTs either way.
    csrfPrevention: false,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => {
      const shaped = toContractError(formatted, error);
      if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error }, 'resolver failed');
      return shaped;
    },
    // No per-field instrumentation: no cache hints are set (cache control), traces and usage go elsewhere.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ...observability.apollo,
    ],
    // Shutdown is ours (kernel/lifecycle.ts): Apollo's handler would end the process before the outbox and database are closed.
    stopOnTerminationSignals: false,
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<SubgraphContext<S, L>> => {
    const identity = await options.verifier.verify(req.headers.authorization);
    return { identity, services, loaders: definition.createLoaders(services, identity) };
  };
  const readiness = new Readiness({
    database: () => db.query('SELECT 1'),
    bus: () => options.bus.ping(),
  });
  const httpServer = await listen(
    options.port,
    [
      healthRoute(readiness),
      ...observability.routes,
      apolloRoute(server, '/graphql', context, {
        maxBodyBytes: config.http.maxBodyBytes,
        admit: (raw) => {
          if (typeof raw.query === 'string') checkDocumentSize(raw.query, limits);
          checkVariables(raw.variables, limits);
        },
      }),
    ],
    options.host ?? config.host,
    observability.hooks,
  );
  observability.listening(httpServer.server);

  let stopping: Promise<void> | null = null;
  return {
    name: definition.name,
    url: `${httpServer.url}/graphql`,
    http: httpServer,
    runtime,
    services,
    stop(timeoutMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        // Not ready from now on; in-flight requests finish; then events stop, the outbox is flushed, the database closed.
        readiness.markDraining();
        await httpServer.drain(timeoutMs);
        await server.stop();
        await consumption?.stop();
        await relay.stop();
        await db.destroy();
      })();
      return stopping;
    },
  };
}
