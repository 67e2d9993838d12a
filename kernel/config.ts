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

/** A non-negative whole-number setting (milliseconds, hours), with its default. */
export function wholeNumberFromEnv(name: string, fallback: number, env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number (got '${raw}')`);
  return value;
}

/**
 * How long the gateway waits for each subgraph before answering without its
 * fields (docs/partial-answers.md): SUBGRAPH_TIMEOUT_MS (default 10 000) for
 * all, SUBGRAPH_<NAME>_TIMEOUT_MS for one.
 */
export function subgraphTimeoutsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): Record<SubgraphName, number> {
  const all = wholeNumberFromEnv('SUBGRAPH_TIMEOUT_MS', 10_000, env);
  return Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, wholeNumberFromEnv(`SUBGRAPH_${name.toUpperCase()}_TIMEOUT_MS`, all, env)])) as Record<SubgraphName, number>;
}

/** How long a service may take to drain and close on SIGTERM before it exits anyway (SHUTDOWN_TIMEOUT_MS, default 10 000). */
export const shutdownTimeoutFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): number => wholeNumberFromEnv('SHUTDOWN_TIMEOUT_MS', 10_000, env);

/**
 * The outbox relay's timings (docs/events.md): EVENT_RELAY_INTERVAL_MS (1000),
 * how often what a bus outage left behind is sent; EVENT_MAINTENANCE_MS (5000),
 * how often lost events are detected, acknowledged rows pruned and the stream
 * trimmed; INBOX_RETENTION_HOURS (168), how long applied event ids are kept
 * for deduplication.
 */
export function eventSettingsFrom(env: Readonly<Record<string, string | undefined>> = process.env): { intervalMs: number; maintenanceMs: number; inboxRetentionMs: number } {
  return {
    intervalMs: wholeNumberFromEnv('EVENT_RELAY_INTERVAL_MS', 1_000, env),
    maintenanceMs: wholeNumberFromEnv('EVENT_MAINTENANCE_MS', 5_000, env),
    inboxRetentionMs: wholeNumberFromEnv('INBOX_RETENTION_HOURS', 168, env) * 3600_000,
  };
}
