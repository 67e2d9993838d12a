import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { Config, ConfigError, DEFAULT_PORTS, loadConfig, parseDatabaseUrl, SUBGRAPH_NAMES, SubgraphName } from '../kernel/config';
import { rootLogger, serviceLogger } from '../kernel/log';
import { installTracing } from '../kernel/tracing';
import { EventBus } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { createTokenVerifier, verifierOptions } from '../kernel/identity';
import { stopOnTerminationSignals } from '../kernel/lifecycle';
import { startSubgraph } from '../kernel/subgraph';
import { startGateway } from '../gateway/server';
import { uploadGrantSecretFrom } from '../kernel/objectstore/grants';
import { CONSUMER_GROUPS, SUBGRAPHS } from '../subgraphs';

/**
 * Production entry point: `node dist/bin/serve.js <gateway|network|storage|recordings|licensing>`
 * runs one service as its own process, configured by environment (kernel/config.ts, README "Settings").
 */
async function main(): Promise<void> {
  const service = process.argv[2] as SubgraphName | 'gateway' | undefined;
  if (service !== 'gateway' && (!service || !SUBGRAPH_NAMES.includes(service))) {
    throw new Error(`usage: serve <gateway|${SUBGRAPH_NAMES.join('|')}>`);
  }
  const config: Config = loadConfig();
  const log = serviceLogger(service);
  if (!config.production) log.warn(`NODE_ENV is '${config.env}': development defaults are on; set NODE_ENV=production in production`);
  const tracing = installTracing({
    serviceName: config.tracing.serviceName ?? `cds-${service}`,
    endpoint: config.tracing.endpoint ?? undefined,
  });
  const verifier = createTokenVerifier(verifierOptions(config));
  // SIGTERM/SIGINT: drain, flush, close within SHUTDOWN_TIMEOUT_MS (kernel/lifecycle.ts); traces are flushed last.
  const stopOnSignal = (stop: (timeoutMs: number) => Promise<void>) =>
    stopOnTerminationSignals({
      name: service,
      timeoutMs: config.shutdownTimeoutMs,
      stop: async (timeoutMs) => {
        await stop(timeoutMs);
        await tracing?.shutdown();
      },
    });
  const busConfig = config.bus;
  if (service === 'gateway') {
    const supergraphFile = config.supergraphFile ?? path.join(process.cwd(), 'schema', 'supergraph.graphql');
    // The gateway tails the event stream to serve subscriptions (fan-out across gateway instances through Redis).
    const jwtSecret = config.jwt.keys.kind === 'secret' ? config.jwt.keys.secret : null;
    const gatewayBus = busConfig.kind === 'redis' ? new RedisStreamBus(busConfig.url, busConfig.stream) : null;
    const gateway = await startGateway({
      config,
      port: config.port ?? DEFAULT_PORTS.gateway,
      supergraphSdl: fs.readFileSync(supergraphFile, 'utf8'),
      subgraphUrls: config.subgraphUrls,
      verifier,
      bus: gatewayBus ?? undefined,
      // Signed playback links need the HS256 secret; with a public key, playback takes bearer tokens only.
      uploadGrantSecret: uploadGrantSecretFrom(process.env),
      playbackLinks: jwtSecret ? { linkSecret: config.playbackUrlSecret ?? jwtSecret, jwtSecret } : null,
      processMetrics: true,
    });
    log.info({ url: gateway.url, metrics: config.metrics.enabled, tracing: Boolean(tracing) }, 'gateway listening');
    stopOnSignal(async (timeoutMs) => {
      await gateway.stop(timeoutMs);
      await gatewayBus?.close();
    });
    return;
  }
  const bus: EventBus =
    busConfig.kind === 'redis' ? new RedisStreamBus(busConfig.url, busConfig.stream, { expectedGroups: CONSUMER_GROUPS }) : new MemoryBus();
  if (busConfig.kind === 'memory') {
    log.warn('REDIS_URL is not set: events stay inside this process (fine only when it runs alone)');
  }
  const running = await startSubgraph(SUBGRAPHS[service], {
    config,
    port: config.port ?? DEFAULT_PORTS[service],
    db: parseDatabaseUrl(config.databaseUrl ?? `sqlite:.data/${service}.sqlite`),
    bus,
    verifier,
    processMetrics: true,
  });
  log.info({ url: running.url, metrics: config.metrics.enabled, tracing: Boolean(tracing) }, 'subgraph listening');
  stopOnSignal(async (timeoutMs) => {
    await running.stop(timeoutMs);
    await bus.close();
  });
}

main().catch((error) => {
  // A configuration problem is a message for the operator, on stderr (the logger may be what is misconfigured); anything else a fatal line with its stack.
  if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else rootLogger.fatal({ err: error }, 'could not start');
  rootLogger.flush();
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
