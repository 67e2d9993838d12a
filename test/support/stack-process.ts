/**
 * The whole stack as a child process of a test (test/shutdown.test.ts): the
 * embedded database in a fresh directory, shutdown on SIGTERM exactly as
 * bin/serve.ts does it (kernel/lifecycle.ts). Prints one JSON line with the
 * gateway's URL when it is up. `/test/slow?ms=N` answers after N ms, a
 * request that is certainly in flight when the signal comes.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../../kernel/config';
import { stopOnTerminationSignals } from '../../kernel/lifecycle';
import { startStack } from '../../dev/stack';

const DASHBOARD = `query ($networkId: ID!) { network(id: $networkId) { id name pbxCount pbxs { id } } }`;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-shutdown-'));
  // The shutdown test loads the gateway with one token as fast as it answers; the rate limit is not what it measures
  // (a quiet machine answers more than the default burst of 120 in its 700 ms of load).
  const config = testConfig({
    SHUTDOWN_TIMEOUT_MS: process.env.SHUTDOWN_TIMEOUT_MS ?? '10000',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_BURST: '1000000',
  });
  // The route below reads `stack` only once it is set.
  const stack: Awaited<ReturnType<typeof startStack>> = await startStack({
    config,
    db: { kind: 'sqlite', dir },
    jwtSecret: process.env.JWT_SECRET ?? 'test-secret-for-cds-graph',
    gatewayPort: 0,
    gatewayRoutes: [
      async (req, res, url) => {
        if (url.pathname !== '/test/slow') return false;
        // Headers first: the client then knows this request is in flight here.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 200)));
        const networkId = url.searchParams.get('dashboard');
        if (!networkId) return (void res.end(JSON.stringify({ slept: true })), true);
        // Then real work in a subgraph while the gateway drains (the gateway itself accepts no new connection now).
        const answer = await fetch(stack.subgraphs.network.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? '') },
          body: JSON.stringify({ query: DASHBOARD, variables: { networkId } }),
        });
        res.end(await answer.text());
        return true;
      },
    ],
  });
  stopOnTerminationSignals({
    name: 'stack',
    timeoutMs: config.shutdownTimeoutMs,
    stop: async (timeoutMs) => {
      await stack.stop(timeoutMs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log: (message) => process.stderr.write(`${message}\n`),
  });
  process.stdout.write(`${JSON.stringify({ gatewayUrl: stack.gatewayUrl })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${String(error?.stack ?? error)}\n`);
  process.exit(1);
});
