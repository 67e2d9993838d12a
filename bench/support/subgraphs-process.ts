import 'reflect-metadata';
import { SUBGRAPH_NAMES } from '../../kernel/config';
import { RedisStreamBus } from '../../kernel/events/redis-bus';
import { createTokenVerifier } from '../../kernel/identity';
import { startSubgraph } from '../../kernel/subgraph';
import { databaseFor } from '../../dev/stack';
import { SUBGRAPHS } from '../../subgraphs';

/**
 * The four subgraphs in one process on Redis (benchmarks run the gateway in
 * another process so its memory can be measured alone). Prints one JSON line
 * with their URLs. Env: BENCH_DIR (SQLite files), REDIS_URL, EVENT_STREAM, JWT_SECRET.
 */
async function main(): Promise<void> {
  const verifier = createTokenVerifier({ secret: process.env.JWT_SECRET ?? 'bench' });
  const urls: Record<string, string> = {};
  for (const name of SUBGRAPH_NAMES) {
    const running = await startSubgraph(SUBGRAPHS[name], {
      port: 0,
      host: '127.0.0.1',
      db: databaseFor({ kind: 'sqlite', dir: process.env.BENCH_DIR ?? '/tmp/cds-bench' }, name),
      bus: new RedisStreamBus(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', process.env.EVENT_STREAM ?? 'cds-bench:events'),
      verifier,
    });
    urls[name] = running.url;
  }
  console.log(JSON.stringify({ urls }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
