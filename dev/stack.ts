import fs from 'node:fs';
import path from 'node:path';
import { Config, DatabaseConfig, SUBGRAPH_NAMES, SubgraphName, DEFAULT_PORTS, testConfig } from '../kernel/config';
import { EventBus } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { createTokenVerifier } from '../kernel/identity';
import { Route } from '../kernel/http';
import { RunningSubgraph, startSubgraph } from '../kernel/subgraph';
import { RunningGateway, startGateway } from '../gateway/server';
import { CONSUMER_GROUPS, SUBGRAPHS } from '../subgraphs';

export type StackDatabase =
  | { kind: 'sqlite'; dir: string | ':memory:' }
  /** `url` is the server (mysql://root@127.0.0.1:3306); each subgraph gets database `<prefix>_<name>` */
  | { kind: 'mysql'; url: string; prefix: string };

export interface StackOptions {
  /** the validated configuration (kernel/config.ts); development defaults when absent */
  config?: Config;
  db: StackDatabase;
  /** Redis Streams between subgraphs; the in-process bus when absent */
  redis?: { url: string; stream: string; claimIdleMs?: number; tailGraceMs?: number };
  jwtSecret: string;
  /** 0 for ephemeral ports everywhere (tests); otherwise the gateway's port, subgraphs on their default ports */
  gatewayPort: number;
  host?: string;
  supergraphFile?: string;
  keepStatements?: boolean;
  gatewayRoutes?: Route[];
  /** subscription progress coalescing (ms) */
  coalesceMs?: number;
  /** collect process metrics (memory, event loop) in the gateway's registry (npm start; tests leave it off) */
  processMetrics?: boolean;
}

export interface Stack {
  gatewayUrl: string;
  gateway: RunningGateway;
  subgraphs: Record<SubgraphName, RunningSubgraph>;
  /** Waits until every event published so far has been applied by every consumer. */
  settle(): Promise<void>;
  /** Graceful, like each service on SIGTERM (kernel/lifecycle.ts) */
  stop(timeoutMs?: number): Promise<void>;
}

export function databaseFor(db: StackDatabase, name: SubgraphName): DatabaseConfig {
  if (db.kind === 'mysql') return { kind: 'mysql', url: `${db.url.replace(/\/+$/, '')}/${db.prefix}_${name}` };
  if (db.dir === ':memory:') return { kind: 'sqlite', file: ':memory:' };
  fs.mkdirSync(db.dir, { recursive: true });
  return { kind: 'sqlite', file: path.join(db.dir, `${name}.sqlite`) };
}

/**
 * The whole system in one process: four subgraphs, each with its own database
 * and HTTP server, and the gateway in front of them, talking real HTTP. Used by
 * `npm start` and by the tests; production runs each piece as its own process.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const config = options.config ?? testConfig();
  const verifier = createTokenVerifier({ secret: options.jwtSecret, issuer: config.jwt.issuer, audience: config.jwt.audience });
  const memoryBus = options.redis ? null : new MemoryBus(undefined, CONSUMER_GROUPS);
  const buses: EventBus[] = [];
  const busFor = (): EventBus => {
    if (memoryBus) return memoryBus;
    const bus = new RedisStreamBus(options.redis!.url, options.redis!.stream, {
      expectedGroups: CONSUMER_GROUPS,
      claimIdleMs: options.redis!.claimIdleMs,
      tailGraceMs: options.redis!.tailGraceMs,
    });
    buses.push(bus);
    return bus;
  };
  const started: RunningSubgraph[] = [];
  try {
    for (const name of SUBGRAPH_NAMES) {
      started.push(
        await startSubgraph(SUBGRAPHS[name], {
          config,
          port: options.gatewayPort === 0 ? 0 : options.gatewayPort + DEFAULT_PORTS[name] - DEFAULT_PORTS.gateway,
          host: options.host ?? config.host,
          db: databaseFor(options.db, name),
          bus: busFor(),
          verifier,
          keepStatements: options.keepStatements,
          // The recordings subgraph signs playback links with the same secret the gateway checks them with.
          settings: { ...process.env, JWT_SECRET: options.jwtSecret },
        }),
      );
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    throw error;
  }
  const subgraphs = Object.fromEntries(started.map((s) => [s.name, s])) as Record<SubgraphName, RunningSubgraph>;
  const supergraphFile = options.supergraphFile ?? path.join(__dirname, '..', 'schema', 'supergraph.graphql');
  const gateway = await startGateway({
    config,
    port: options.gatewayPort,
    host: options.host ?? config.host,
    supergraphSdl: fs.readFileSync(
      fs.existsSync(supergraphFile) ? supergraphFile : path.join(process.cwd(), 'schema', 'supergraph.graphql'),
      'utf8',
    ),
    subgraphUrls: Object.fromEntries(started.map((s) => [s.name, s.url])),
    verifier,
    routes: options.gatewayRoutes,
    bus: memoryBus ?? busFor(),
    coalesceMs: options.coalesceMs,
    uploadGrantSecret: process.env.UPLOAD_GRANT_SECRET || options.jwtSecret,
    playbackLinks: { linkSecret: process.env.PLAYBACK_URL_SECRET || options.jwtSecret, jwtSecret: options.jwtSecret },
    // One process: its memory and event loop are reported once, by the gateway.
    processMetrics: options.processMetrics,
  });

  return {
    gatewayUrl: gateway.url,
    gateway,
    subgraphs,
    async settle() {
      // Events can cause events (storage usage -> licensing), so settle twice.
      for (let round = 0; round < 2; round++) {
        for (const s of started) await s.runtime.relay.flush();
        for (const s of started) await s.runtime.directory.catchUp();
      }
    },
    async stop(timeoutMs?: number) {
      await gateway.stop(timeoutMs);
      for (const s of started) await s.stop(timeoutMs);
      await memoryBus?.close();
      for (const bus of buses) await bus.close();
    },
  };
}
