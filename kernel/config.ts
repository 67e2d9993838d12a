/**
 * Configuration by environment, read in one place. Every process (a subgraph,
 * the gateway, the all-in-one dev stack) builds its settings from here.
 */

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'mysql'; url: string };

export type BusConfig =
  | { kind: 'memory' }
  | { kind: 'redis'; url: string; stream: string };

export const SUBGRAPH_NAMES = ['network', 'storage', 'recordings', 'licensing'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** `mysql://user:pass@host:3306/db`, `sqlite:/path/file.sqlite` or `sqlite::memory:` */
export function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  }
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', file: url.slice('sqlite:'.length) || ':memory:' };
  throw new Error(`DATABASE_URL must start with mysql://, mariadb:// or sqlite: (got '${url}')`);
}

export function busFromEnv(env: NodeJS.ProcessEnv = process.env): BusConfig {
  const url = env.REDIS_URL;
  return url ? { kind: 'redis', url, stream: env.EVENT_STREAM ?? 'cds:events' } : { kind: 'memory' };
}

export function jwtFromEnv(env: NodeJS.ProcessEnv = process.env): { secret?: string; publicKey?: string } {
  if (env.JWT_PUBLIC_KEY) return { publicKey: env.JWT_PUBLIC_KEY.replace(/\\n/g, '\n') };
  if (env.JWT_SECRET) return { secret: env.JWT_SECRET };
  throw new Error('Set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256 PEM)');
}

export function portFromEnv(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const port = Number(env.PORT ?? fallback);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535 (got '${env.PORT}')`);
  return port;
}

/** The default port of each service when run on its own. */
export const DEFAULT_PORTS: Record<SubgraphName | 'gateway', number> = {
  gateway: 4000,
  network: 4001,
  storage: 4002,
  recordings: 4003,
  licensing: 4004,
};

/** LOG_LEVEL: the level of the structured logs (kernel/log.ts). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env.LOG_LEVEL?.trim().toLowerCase();
  if (!value) return env.NODE_ENV === 'test' ? 'warn' : 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got '${env.LOG_LEVEL}')`);
  }
  return value as LogLevel;
}

/**
 * METRICS_TOKEN, METRICS: who may read /metrics (kernel/metrics.ts). With a
 * token, only `Authorization: Bearer <token>`; without one, open in
 * development and off in production (NODE_ENV=production); METRICS=off turns
 * it off everywhere.
 */
export function metricsFromEnv(env: NodeJS.ProcessEnv = process.env): { enabled: boolean; token?: string } {
  const token = env.METRICS_TOKEN || undefined;
  if (env.METRICS === 'off') return { enabled: false };
  return { enabled: Boolean(token) || env.NODE_ENV !== 'production', token };
}

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), OTEL_SERVICE_NAME:
 * traces are exported over OTLP/HTTP when an endpoint is set (kernel/tracing.ts); none are made otherwise.
 */
export function tracingFromEnv(env: NodeJS.ProcessEnv = process.env): { endpoint?: string; serviceName?: string } {
  return {
    endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    serviceName: env.OTEL_SERVICE_NAME || undefined,
  };
}
