import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { SUBGRAPH_NAMES, testConfig } from '../../kernel/config';
import { Role, signToken } from '../../kernel/identity';
import { startStack, Stack, StackDatabase } from '../../dev/stack';

export const TEST_SECRET = 'test-secret-for-cds-graph';

/** Which database the suite runs on: TEST_DB=mysql (MariaDB) or sqlite (embedded, the default). */
export const TEST_DB = (process.env.TEST_DB ?? 'sqlite') as 'mysql' | 'sqlite';
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
/** Redis Streams between subgraphs when TEST_BUS=redis (CI runs the MariaDB pass that way). */
export const TEST_BUS = (process.env.TEST_BUS ?? (TEST_DB === 'mysql' ? 'redis' : 'memory')) as 'redis' | 'memory';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface GraphQLResult<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[];
  status: number;
}

export const tokens = {
  admin: () => signToken(TEST_SECRET, { sub: 'admin@test', role: 'admin' }),
  analyst: () => signToken(TEST_SECRET, { sub: 'analyst@test', role: 'analyst' }),
  partner: (customers: string[]) => signToken(TEST_SECRET, { sub: `partner:${customers.join(',')}`, role: 'partner', customers }),
  pbx: (serial: string) => signToken(TEST_SECRET, { sub: `pbx:${serial}`, role: 'pbx', pbx: serial }),
  of: (role: Role, extra: { customers?: string[]; pbx?: string } = {}) => signToken(TEST_SECRET, { sub: `${role}@test`, role, ...extra }),
};

export interface TestStack extends Stack {
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResult<T>>;
  /** like gql, but fails the test on any error and returns data */
  ok<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<T>;
  db: StackDatabase;
  /** the Redis stream the subgraphs share, when on Redis */
  redis: { url: string; stream: string } | null;
}

/** POSTs a GraphQL operation; `token` null sends no Authorization header. */
export async function postGraphQL<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = tokens.admin(),
): Promise<GraphQLResult<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResult<T>, 'status'>;
  return { ...body, status: response.status };
}

/** Starts the whole system on fresh databases (and a fresh event stream) for one test file. */
export interface TestStackOptions {
  keepStatements?: boolean;
  coalesceMs?: number;
  /** Redis Streams even on the embedded pass (tests of several instances); SQLite then lives in files they can share */
  redis?: boolean;
  /** a Redis of the test's own (test/support/redis-server.ts) instead of the shared one; implies `redis` */
  redisUrl?: string;
  /** how long an event stays pending with a consumer before another claims it (Redis) */
  claimIdleMs?: number;
  /** how young a stream entry may be and still be trimmed (Redis; default 60 s) */
  tailGraceMs?: number;
  /** settings as if in the environment (kernel/config.ts), over the test defaults */
  env?: Record<string, string>;
}

/**
 * Tests run many operations as one caller in a few seconds: the rate limit
 * and subscription caps are lifted unless a test sets them (test/hostile-*).
 */
export const TEST_ENV: Record<string, string> = {
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST: '10000000',
  WS_MAX_SUBSCRIPTIONS_PER_CALLER: '100000',
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '10000',
};

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const prefix = `t_${process.pid}_${randomBytes(3).toString('hex')}`;
  const useRedis = Boolean(options.redis || options.redisUrl) || TEST_BUS === 'redis';
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const db: StackDatabase =
    TEST_DB === 'mysql'
      ? { kind: 'mysql', url: MYSQL_URL, prefix }
      : { kind: 'sqlite', dir: options.redis || options.redisUrl ? fs.mkdtempSync(path.join(os.tmpdir(), 'cds-test-')) : ':memory:' };
  const stream = `cds-test:${prefix}:events`;
  const stack = await startStack({
    config: testConfig({ ...TEST_ENV, ...options.env }),
    db,
    redis: useRedis ? { url: redisUrl, stream, claimIdleMs: options.claimIdleMs, tailGraceMs: options.tailGraceMs } : undefined,
    jwtSecret: TEST_SECRET,
    gatewayPort: 0,
    keepStatements: options.keepStatements,
    coalesceMs: options.coalesceMs,
  });
  const gql = <T>(query: string, variables?: Record<string, unknown>, token: string | null = tokens.admin()) =>
    postGraphQL<T>(stack.gatewayUrl, query, variables, token);
  return {
    ...stack,
    db,
    redis: useRedis ? { url: redisUrl, stream } : null,
    gql,
    async ok<T>(query: string, variables?: Record<string, unknown>, token: string | null = tokens.admin()) {
      const result = await gql<T>(query, variables, token);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors, null, 2)}`);
      return result.data as T;
    },
    async stop() {
      await stack.stop();
      if (db.kind === 'mysql') {
        const connection = await mysql.createConnection({ uri: MYSQL_URL });
        for (const name of SUBGRAPH_NAMES) await connection.query(`DROP DATABASE IF EXISTS \`${prefix}_${name}\``);
        await connection.end();
      }
      if (db.kind === 'sqlite' && db.dir !== ':memory:') fs.rmSync(db.dir, { recursive: true, force: true });
      if (useRedis) {
        const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
        redis.on('error', () => undefined);
        await redis.del(stream, `${stream}:epoch`, `${stream}:dead-letter`).catch(() => undefined);
        await redis.quit();
      }
    },
  };
}
