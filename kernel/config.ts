import { z } from 'zod';

/**
 * The configuration of every process (a subgraph, the gateway, the
 * all-in-one dev stack), read from the environment in one place and
 * validated once (zod): every setting is named, typed, defaulted and
 * documented here and in the README's settings table (a test checks that
 * the two list the same variables). A bad value stops the start with a
 * message naming the variable.
 *
 * To add a setting: a line in `ENV` (with `.describe()`), a field in
 * `Config` filled in `loadConfig`, and a row in the README's table.
 */

export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'mysql'; url: string };

export type BusConfig = { kind: 'memory' } | { kind: 'redis'; url: string; stream: string };

export const SUBGRAPH_NAMES = ['network', 'storage', 'recordings', 'licensing'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** The default port of each service when run on its own. */
export const DEFAULT_PORTS: Record<SubgraphName | 'gateway', number> = {
  gateway: 4000,
  network: 4001,
  storage: 4002,
  recordings: 4003,
  licensing: 4004,
};

/** `mysql://user:pass@host:3306/db`, `sqlite:/path/file.sqlite` or `sqlite::memory:` */
export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  }
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', file: url.slice('sqlite:'.length) || ':memory:' };
  throw new Error(`DATABASE_URL must start with mysql://, mariadb:// or sqlite: (got '${url}')`);
}

// ---- typed readers of one variable each (an empty value counts as unset) ----

const unset = (value: unknown) => (value === '' ? undefined : value);
const optionalString = () => z.preprocess(unset, z.string().optional());
const int = (min: number, max: number) => z.preprocess(unset, z.coerce.number().int().min(min).max(max));
const flag = () =>
  z.preprocess(
    unset,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
      .transform((v) => ['true', '1', 'yes', 'on'].includes(v))
      .optional(),
  );
const list = () =>
  z.preprocess(
    unset,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .optional(),
  );
const url = (protocols: readonly string[]) =>
  z.preprocess(
    unset,
    z
      .string()
      .refine((v) => protocols.some((p) => v.startsWith(p)), { message: `must start with ${protocols.join(' or ')}` })
      .optional(),
  );

/** The levels of kernel/log.ts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Every environment variable the project reads. */
export const ENV = {
  NODE_ENV: z
    .preprocess(unset, z.enum(['development', 'production', 'test']).default('development'))
    .describe('`production` turns off every development convenience (IDE, printed tokens, default secret, introspection, suggestions)'),
  PORT: int(0, 65535).optional().describe('listen port (gateway 4000, network 4001, storage 4002, recordings 4003, licensing 4004)'),
  HOST: z
    .preprocess(unset, z.string().default('127.0.0.1'))
    .describe('the interface every service listens on (default 127.0.0.1; `0.0.0.0` in containers)'),
  DATA_DIR: optionalString().describe('`npm start`: where the embedded databases live (default `.data`)'),
  DATABASE_URL: url(['mysql://', 'mariadb://', 'sqlite:']).describe(
    'subgraphs: `mysql://user:pass@host:3306/db` (created when missing) or `sqlite:/path/file.sqlite` (default `sqlite:.data/<service>.sqlite`)',
  ),
  REDIS_URL: url(['redis://', 'rediss://']).describe(
    'Redis: the event bus between subgraphs (the gateway tails it for subscriptions) and the shared rate limit; in-process when unset',
  ),
  EVENT_STREAM: z.preprocess(unset, z.string().default('cds:events')).describe('the Redis stream of events'),
  JWT_SECRET: optionalString().describe(
    'HS256 secret of bearer tokens; production needs one of its own of at least 32 characters (development default: a published secret, refused in production)',
  ),
  JWT_PUBLIC_KEY: optionalString().describe('PEM public key for RS256/ES256/PS256 tokens (`\\n` escapes allowed)'),
  JWKS_URL: url(['https://', 'http://']).describe('a JWKS endpoint whose keys verify tokens (fetched and cached by jose)'),
  JWT_ISSUER: optionalString().describe('when set, tokens must carry this `iss`'),
  JWT_AUDIENCE: optionalString().describe('when set, tokens must carry this `aud`'),
  INTROSPECTION: flag().describe('serve schema introspection (default: on in development, off in production)'),
  FIELD_SUGGESTIONS: flag().describe('"Did you mean" hints in validation errors (default: on in development, off in production)'),
  CORS_ORIGINS: list().describe('comma-separated origins browsers may call the gateway from (`*` for any); none by default'),
  RATE_LIMIT_PER_MINUTE: int(1, 10_000_000)
    .default(600)
    .describe(
      'operations a caller (token subject and role) may run per minute, summed over all gateway instances (shared through Redis when `REDIS_URL` is set)',
    ),
  RATE_LIMIT_BURST: int(1, 10_000_000)
    .default(120)
    .describe('the most operations a caller may send at once; the allowance refills at `RATE_LIMIT_PER_MINUTE`'),
  RATE_LIMIT_ROLES: optionalString().describe('per-role overrides of the per-minute limit, e.g. `pbx=120,analyst=300`'),
  MAX_BODY_BYTES: int(1024, 100_000_000).default(1_000_000).describe('largest HTTP/SSE request body (413 above)'),
  MAX_DOCUMENT_BYTES: int(64, 10_000_000).default(32_000).describe('largest GraphQL document, checked before parsing'),
  MAX_VARIABLE_STRING_BYTES: int(16, 100_000_000)
    .default(65_536)
    .describe("longest string in an operation's variables (no field of the API takes more)"),
  MAX_TOKENS: int(16, 1_000_000).default(2_000).describe('most lexical tokens in a document, checked while parsing'),
  MAX_DEPTH: int(1, 1000).default(12).describe('deepest selection'),
  MAX_ALIASES: int(0, 10_000).default(30).describe('most aliases in an operation'),
  MAX_DIRECTIVES: int(0, 10_000).default(50).describe('most directives in an operation'),
  MAX_COST: int(1, 1_000_000_000)
    .default(50_000)
    .describe('highest estimated cost (each field 1; a list multiplies its selection by `first`, or by 20)'),
  WS_MAX_PAYLOAD_BYTES: int(1024, 100_000_000).default(1_000_000).describe('largest WebSocket message'),
  WS_KEEPALIVE_MS: int(1000, 3_600_000).default(15_000).describe('WebSocket ping interval; a socket that misses a pong is closed'),
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 100_000).default(100).describe('open subscriptions per WebSocket'),
  WS_MAX_SUBSCRIPTIONS_PER_CALLER: int(1, 1_000_000).default(500).describe('open subscriptions per caller (token subject) on one gateway'),
  WS_MAX_BUFFERED_BYTES: int(1024, 1_000_000_000)
    .default(4_000_000)
    .describe('a WebSocket whose unsent data exceeds this is closed (backpressure)'),
  SUPERGRAPH_FILE: optionalString().describe('gateway: the composed supergraph (default `schema/supergraph.graphql`)'),
  SUBGRAPH_NETWORK_URL: url(['http://', 'https://']).describe("gateway: the network subgraph's `/graphql`"),
  SUBGRAPH_STORAGE_URL: url(['http://', 'https://']).describe("gateway: the storage subgraph's `/graphql`"),
  SUBGRAPH_RECORDINGS_URL: url(['http://', 'https://']).describe("gateway: the recordings subgraph's `/graphql`"),
  SUBGRAPH_LICENSING_URL: url(['http://', 'https://']).describe("gateway: the licensing subgraph's `/graphql`"),
  CDS_STORES: optionalString().describe(
    'the CDS object store of each region, e.g. `eu-central-1=s3://cds-euc1?region=eu-central-1,us-east-1=file:/srv/cds/us-east-1` (`kernel/objectstore/README.md`; default `*=file:.data/cds/{region}`)',
  ),
  MIGRATION_LEASE_SECONDS: int(1, 86_400).default(30).describe('storage: how long an agent run holds a migration without reporting'),
  UPLOAD_GRANT_SECRET: optionalString().describe('storage, gateway: the secret upload grants are signed with (default: `JWT_SECRET`)'),
  UPLOAD_GRANT_SECONDS: int(1, 86_400)
    .default(900)
    .describe('storage: how long an upload grant is good for (large files get 1 s per MB on top)'),
  CDS_STORE_WAIT_MS: int(1, 3_600_000)
    .default(4000)
    .describe(
      'storage: how long a progress report waits for CDS to read reported objects back, and a multipart completion for the store to assemble the object; past it the answer says the work is still under way (it goes on) and the agent asks again. Keep it below `SUBGRAPH_STORAGE_TIMEOUT_MS`',
    ),
  UPLOAD_MULTIPART_MIN_BYTES: int(5_242_880, 5_000_000_000_000)
    .default(67_108_864)
    .describe('storage: files from this size on go up to S3 in presigned multipart uploads, in parts of this size'),
  PLAYBACK_URL_SECRET: optionalString().describe('recordings, gateway: the secret of signed playback links (default: `JWT_SECRET`)'),
  GATEWAY_PUBLIC_URL: url(['http://', 'https://']).describe('recordings: the public base of playback links'),
  SUBGRAPH_TIMEOUT_MS: int(1, 3_600_000)
    .default(10_000)
    .describe("gateway: how long it waits for a subgraph before answering without that subgraph's fields (docs/partial-answers.md)"),
  SUBGRAPH_NETWORK_TIMEOUT_MS: int(1, 3_600_000).optional().describe('gateway: `SUBGRAPH_TIMEOUT_MS` for the network subgraph'),
  SUBGRAPH_STORAGE_TIMEOUT_MS: int(1, 3_600_000).optional().describe('gateway: `SUBGRAPH_TIMEOUT_MS` for the storage subgraph'),
  SUBGRAPH_RECORDINGS_TIMEOUT_MS: int(1, 3_600_000).optional().describe('gateway: `SUBGRAPH_TIMEOUT_MS` for the recordings subgraph'),
  SUBGRAPH_LICENSING_TIMEOUT_MS: int(1, 3_600_000).optional().describe('gateway: `SUBGRAPH_TIMEOUT_MS` for the licensing subgraph'),
  SHUTDOWN_TIMEOUT_MS: int(0, 3_600_000)
    .default(10_000)
    .describe(
      'on SIGTERM/SIGINT: how long a service drains requests and subscriptions, flushes its outbox and closes its databases before it exits anyway (docs/operations.md)',
    ),
  EVENT_RELAY_INTERVAL_MS: int(10, 3_600_000)
    .default(1_000)
    .describe('subgraphs: how often the outbox relay sends what a bus outage left behind (docs/events.md)'),
  EVENT_MAINTENANCE_MS: int(10, 86_400_000)
    .default(5_000)
    .describe('subgraphs: how often the relay re-sends what the bus lost, prunes acknowledged outbox rows and trims the stream'),
  INBOX_RETENTION_HOURS: int(0, 100_000)
    .default(168)
    .describe('subgraphs: how long the ids of applied events are kept to skip redeliveries'),
  LOG_SQL_ERRORS: flag().describe("log each failed SQL statement's text (never its parameters) at warn instead of debug"),
  LOG_LEVEL: z
    .preprocess((v) => (typeof v === 'string' ? unset(v.trim().toLowerCase()) : v), z.enum(LOG_LEVELS).optional())
    .describe(
      '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`: the level of the JSON log lines on stdout (default `info`; `warn` under jest)',
    ),
  METRICS: flag().describe(
    'serve Prometheus metrics at `/metrics` on every service (default: on, except in production without `METRICS_TOKEN`)',
  ),
  METRICS_TOKEN: optionalString().describe(
    'when set, `/metrics` answers only `Authorization: Bearer <token>` (needed for /metrics in production)',
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http://', 'https://']).describe(
    'export traces over OTLP/HTTP to this collector (`/v1/traces` is appended); no traces are made when unset',
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['http://', 'https://']).describe(
    'the full OTLP/HTTP traces URL, instead of `OTEL_EXPORTER_OTLP_ENDPOINT`',
  ),
  OTEL_SERVICE_NAME: optionalString().describe(
    'the `service.name` of exported spans (default `cds-<service>`, `cds-graph` for `npm start`)',
  ),
} as const;

export type EnvName = keyof typeof ENV;
const envSchema = z.object(ENV);
type Env = z.infer<typeof envSchema>;

/** The development secret, published in this repository: accepted only outside production. */
export const DEVELOPMENT_JWT_SECRET = 'cds-graph-development-secret';

export type JwtKeys = { kind: 'secret'; secret: string } | { kind: 'publicKey'; pem: string } | { kind: 'jwks'; url: string };

export interface QueryLimitsConfig {
  maxDocumentBytes: number;
  maxVariableStringBytes: number;
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

/** The one typed configuration object. */
export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  port: number | null;
  host: string;
  dataDir: string | null;
  databaseUrl: string | null;
  bus: BusConfig;
  redisUrl: string | null;
  jwt: { keys: JwtKeys; issuer: string | null; audience: string | null };
  graphql: { introspection: boolean; suggestions: boolean; limits: QueryLimitsConfig };
  http: { maxBodyBytes: number; corsOrigins: readonly string[] };
  rateLimit: { perMinute: number; burst: number; perRole: Readonly<Partial<Record<string, number>>> };
  websocket: {
    maxPayloadBytes: number;
    keepAliveMs: number;
    maxSubscriptionsPerConnection: number;
    maxSubscriptionsPerCaller: number;
    maxBufferedBytes: number;
  };
  supergraphFile: string | null;
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  cdsStores: string | null;
  migrationLeaseSeconds: number;
  playbackUrlSecret: string | null;
  gatewayPublicUrl: string | null;
  logSqlErrors: boolean;
  /** gateway: how long to wait for each subgraph (docs/partial-answers.md) */
  subgraphTimeoutsMs: Record<SubgraphName, number>;
  shutdownTimeoutMs: number;
  events: { relayIntervalMs: number; maintenanceMs: number; inboxRetentionMs: number };
  log: { level: LogLevel };
  /** who may read /metrics (kernel/metrics.ts): open in development, only with a token in production */
  metrics: { enabled: boolean; token?: string };
  /** OTLP/HTTP export of traces (kernel/tracing.ts); none are made without an endpoint */
  tracing: { endpoint: string | null; serviceName: string | null };
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseRoleLimits(text: string | undefined): Record<string, number> {
  const roles: Record<string, number> = {};
  for (const part of (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(admin|partner|analyst|pbx)\s*=\s*(\d+)$/.exec(part);
    if (!match || Number(match[2]) < 1)
      throw new ConfigError([`RATE_LIMIT_ROLES: '${part}' must be <role>=<positive number> with role admin, partner, analyst or pbx`]);
    roles[match[1]] = Number(match[2]);
  }
  return roles;
}

/**
 * Reads and validates the whole configuration. Throws a ConfigError naming
 * every bad variable; production also refuses to start without its keys.
 */
export function loadConfig(source: Readonly<Record<string, string | undefined>> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems: string[] = parsed.success ? [] : describeIssues(source, parsed.error.issues);
  // The keys are checked on the raw values too, so one start reports every problem at once.
  const raw = (name: EnvName) => (source[name] === '' ? undefined : source[name]);
  const production = (parsed.success ? parsed.data.NODE_ENV : raw('NODE_ENV')) === 'production';
  const [secret, publicKey, jwksUrl] = [raw('JWT_SECRET'), raw('JWT_PUBLIC_KEY'), raw('JWKS_URL')];
  if ([secret, publicKey, jwksUrl].filter(Boolean).length > 1) problems.push('JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL: set only one of them');
  if (production && !secret && !publicKey && !jwksUrl)
    problems.push('JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL: production needs one of them (there is no default secret)');
  if (production && secret === DEVELOPMENT_JWT_SECRET)
    problems.push('JWT_SECRET: the development secret is published; production needs its own');
  else if (production && secret && secret.length < 32) problems.push('JWT_SECRET: production needs at least 32 characters');
  if (publicKey && !/-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(publicKey))
    problems.push('JWT_PUBLIC_KEY: must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let perRole: Record<string, number> = {};
  try {
    perRole = parseRoleLimits(raw('RATE_LIMIT_ROLES'));
  } catch (error) {
    problems.push(...(error as ConfigError).problems);
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const env: Env = parsed.data;
  const keys: JwtKeys = env.JWKS_URL
    ? { kind: 'jwks', url: env.JWKS_URL }
    : env.JWT_PUBLIC_KEY
      ? { kind: 'publicKey', pem: env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n') }
      : { kind: 'secret', secret: env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET };

  const subgraphUrls: Partial<Record<SubgraphName, string>> = {};
  if (env.SUBGRAPH_NETWORK_URL) subgraphUrls.network = env.SUBGRAPH_NETWORK_URL;
  if (env.SUBGRAPH_STORAGE_URL) subgraphUrls.storage = env.SUBGRAPH_STORAGE_URL;
  if (env.SUBGRAPH_RECORDINGS_URL) subgraphUrls.recordings = env.SUBGRAPH_RECORDINGS_URL;
  if (env.SUBGRAPH_LICENSING_URL) subgraphUrls.licensing = env.SUBGRAPH_LICENSING_URL;

  return {
    env: env.NODE_ENV,
    production,
    port: env.PORT ?? null,
    host: env.HOST,
    dataDir: env.DATA_DIR ?? null,
    databaseUrl: env.DATABASE_URL ?? null,
    bus: env.REDIS_URL ? { kind: 'redis', url: env.REDIS_URL, stream: env.EVENT_STREAM } : { kind: 'memory' },
    redisUrl: env.REDIS_URL ?? null,
    jwt: { keys, issuer: env.JWT_ISSUER ?? null, audience: env.JWT_AUDIENCE ?? null },
    graphql: {
      introspection: env.INTROSPECTION ?? !production,
      suggestions: env.FIELD_SUGGESTIONS ?? !production,
      limits: {
        maxDocumentBytes: env.MAX_DOCUMENT_BYTES,
        maxVariableStringBytes: env.MAX_VARIABLE_STRING_BYTES,
        maxTokens: env.MAX_TOKENS,
        maxDepth: env.MAX_DEPTH,
        maxAliases: env.MAX_ALIASES,
        maxDirectives: env.MAX_DIRECTIVES,
        maxCost: env.MAX_COST,
      },
    },
    http: { maxBodyBytes: env.MAX_BODY_BYTES, corsOrigins: env.CORS_ORIGINS ?? [] },
    rateLimit: { perMinute: env.RATE_LIMIT_PER_MINUTE, burst: env.RATE_LIMIT_BURST, perRole },
    websocket: {
      maxPayloadBytes: env.WS_MAX_PAYLOAD_BYTES,
      keepAliveMs: env.WS_KEEPALIVE_MS,
      maxSubscriptionsPerConnection: env.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxSubscriptionsPerCaller: env.WS_MAX_SUBSCRIPTIONS_PER_CALLER,
      maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
    },
    supergraphFile: env.SUPERGRAPH_FILE ?? null,
    subgraphUrls,
    cdsStores: env.CDS_STORES ?? null,
    migrationLeaseSeconds: env.MIGRATION_LEASE_SECONDS,
    playbackUrlSecret: env.PLAYBACK_URL_SECRET ?? null,
    gatewayPublicUrl: env.GATEWAY_PUBLIC_URL ?? null,
    logSqlErrors: env.LOG_SQL_ERRORS ?? false,
    subgraphTimeoutsMs: {
      network: env.SUBGRAPH_NETWORK_TIMEOUT_MS ?? env.SUBGRAPH_TIMEOUT_MS,
      storage: env.SUBGRAPH_STORAGE_TIMEOUT_MS ?? env.SUBGRAPH_TIMEOUT_MS,
      recordings: env.SUBGRAPH_RECORDINGS_TIMEOUT_MS ?? env.SUBGRAPH_TIMEOUT_MS,
      licensing: env.SUBGRAPH_LICENSING_TIMEOUT_MS ?? env.SUBGRAPH_TIMEOUT_MS,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    events: {
      relayIntervalMs: env.EVENT_RELAY_INTERVAL_MS,
      maintenanceMs: env.EVENT_MAINTENANCE_MS,
      inboxRetentionMs: env.INBOX_RETENTION_HOURS * 3_600_000,
    },
    log: { level: logLevelOf(env.LOG_LEVEL, env.NODE_ENV) },
    metrics: { enabled: env.METRICS ?? (Boolean(env.METRICS_TOKEN) || !production), token: env.METRICS_TOKEN },
    tracing: {
      endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
      serviceName: env.OTEL_SERVICE_NAME ?? null,
    },
  };
}

/** One line per bad variable, naming it and (unless it is a secret) the value it had. */
function describeIssues(source: Readonly<Record<string, string | undefined>>, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    const value = source[name];
    const shown = name.includes('SECRET') || name.includes('KEY') ? '' : ` (got '${String(value).slice(0, 80)}')`;
    return `${name}: ${issue.message}${value === undefined ? '' : shown}`;
  });
}

/**
 * A few settings from raw settings (a subgraph's own, which tests and the dev
 * stack pass directly), validated and defaulted by the same schema as
 * loadConfig; a ConfigError names every bad one.
 */
export function readSettings<K extends EnvName>(source: Readonly<Record<string, string | undefined>>, names: readonly K[]): Pick<Env, K> {
  const shape: z.ZodRawShape = Object.fromEntries(names.map((name) => [name, ENV[name]]));
  const parsed = z.object(shape).safeParse(source);
  if (!parsed.success) throw new ConfigError(describeIssues(source, parsed.error.issues));
  return parsed.data as unknown as Pick<Env, K>;
}

/** The configuration a test or the dev stack starts from: development defaults, with `overrides` as if set in the environment. */
export function testConfig(overrides: Readonly<Record<string, string | undefined>> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', ...overrides });
}

// ---- compatibility readers (kept for callers that read one setting) ----

export function busFromEnv(env: NodeJS.ProcessEnv = process.env): BusConfig {
  return loadConfig(env).bus;
}

export function portFromEnv(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  return loadConfig(env).port ?? fallback;
}

const logLevelOf = (level: LogLevel | undefined, nodeEnv: string): LogLevel => level ?? (nodeEnv === 'test' ? 'warn' : 'info');

/**
 * LOG_LEVEL alone, validated as loadConfig does: the root logger is made when
 * kernel/log.ts loads, before any process has read its whole configuration.
 */
export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LogLevel {
  const parsed = ENV.LOG_LEVEL.safeParse(env.LOG_LEVEL);
  if (!parsed.success) throw new ConfigError([`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got '${env.LOG_LEVEL}')`]);
  return logLevelOf(parsed.data, env.NODE_ENV ?? 'development');
}
