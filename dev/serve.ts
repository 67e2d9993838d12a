import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { busFromEnv, DEFAULT_PORTS, jwtFromEnv, parseDatabaseUrl, portFromEnv, SUBGRAPH_NAMES, SubgraphName, tracingFromEnv } from '../kernel/config';
import { rootLogger, serviceLogger } from '../kernel/log';
import { installTracing } from '../kernel/tracing';
import { EventBus } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { createTokenVerifier } from '../kernel/identity';
import { startSubgraph } from '../kernel/subgraph';
import { startGateway } from '../gateway/server';
import { SUBGRAPHS } from '../subgraphs';

/**
 * Production entry point: `node dist/dev/serve.js <gateway|network|storage|recordings|licensing>`
 * runs one service as its own process, configured by environment (see README).
 */
async function main(): Promise<void> {
  const service = process.argv[2] as SubgraphName | 'gateway' | undefined;
  const verifier = createTokenVerifier(jwtFromEnv());
  const otel = tracingFromEnv();
  const tracing = installTracing({ serviceName: otel.serviceName ?? `cds-${service ?? 'graph'}`, endpoint: otel.endpoint });
  const log = serviceLogger(service ?? 'serve');
  const stopOnSignal = (stop: () => Promise<void>) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void stop().then(() => tracing?.shutdown()).finally(() => process.exit(0)));
    }
  };
  if (service === 'gateway') {
    const subgraphUrls = Object.fromEntries(
      SUBGRAPH_NAMES.flatMap((name) => {
        const url = process.env[`SUBGRAPH_${name.toUpperCase()}_URL`];
        return url ? [[name, url]] : [];
      }),
    );
    const supergraphFile = process.env.SUPERGRAPH_FILE ?? path.join(process.cwd(), 'schema', 'supergraph.graphql');
    // The gateway tails the event stream to serve subscriptions (fan-out across gateway instances through Redis).
    const busConfig = busFromEnv();
    const gateway = await startGateway({
      port: portFromEnv(DEFAULT_PORTS.gateway),
      supergraphSdl: fs.readFileSync(supergraphFile, 'utf8'),
      subgraphUrls,
      verifier,
      bus: busConfig.kind === 'redis' ? new RedisStreamBus(busConfig.url, busConfig.stream) : undefined,
      // Signed playback links need the HS256 secret; with a public key, playback takes bearer tokens only.
      playbackLinks: process.env.JWT_SECRET ? { linkSecret: process.env.PLAYBACK_URL_SECRET || process.env.JWT_SECRET, jwtSecret: process.env.JWT_SECRET } : null,
      processMetrics: true,
    });
    log.info({ url: gateway.url, tracing: Boolean(tracing) }, 'gateway listening');
    stopOnSignal(gateway.stop);
    return;
  }
  if (!service || !SUBGRAPH_NAMES.includes(service)) {
    throw new Error(`usage: serve <gateway|${SUBGRAPH_NAMES.join('|')}>`);
  }
  const busConfig = busFromEnv();
  const bus: EventBus = busConfig.kind === 'redis' ? new RedisStreamBus(busConfig.url, busConfig.stream) : new MemoryBus();
  if (busConfig.kind === 'memory') {
    log.warn('REDIS_URL is not set: events stay inside this process (fine only when it runs alone)');
  }
  const running = await startSubgraph(SUBGRAPHS[service], {
    port: portFromEnv(DEFAULT_PORTS[service]),
    db: parseDatabaseUrl(process.env.DATABASE_URL ?? `sqlite:.data/${service}.sqlite`),
    bus,
    verifier,
    processMetrics: true,
  });
  log.info({ url: running.url, tracing: Boolean(tracing) }, 'subgraph listening');
  stopOnSignal(async () => {
    await running.stop();
    await bus.close();
  });
}

main().catch((error) => {
  rootLogger.fatal({ err: error }, 'could not start');
  rootLogger.flush();
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
