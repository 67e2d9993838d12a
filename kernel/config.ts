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

/**
 * The gateway's per-identity rate limit: RATE_LIMIT_PER_MINUTE requests a
 * minute on average, bursts of RATE_LIMIT_BURST (defaults 6000 and 1000).
 * Benchmarks lift it; production keeps it.
 */
export function rateLimitFromEnv(env: NodeJS.ProcessEnv = process.env): { perMinute: number; burst: number } {
  const read = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer (got '${raw}')`);
    return value;
  };
  return { perMinute: read('RATE_LIMIT_PER_MINUTE', 6000), burst: read('RATE_LIMIT_BURST', 1000) };
}
