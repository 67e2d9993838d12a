import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import Redis from 'ioredis';
import { signToken } from '../kernel/identity';

/**
 * 1,000 concurrent subscribers on one gateway while 10 migrations report
 * progress: event-to-client latency (from sending the progress report to the
 * subscriber receiving the state it caused) p50/p99, and the gateway
 * process's memory. The gateway runs in its own process, the subgraphs in
 * another, on Redis Streams and SQLite; clients and driver run here.
 *   node -r @swc-node/register bench/subscriptions.ts   (SUBSCRIBERS, MIGRATIONS, ROUNDS to change the load)
 */
const SUBSCRIBERS = Number(process.env.SUBSCRIBERS ?? 1000);
const MIGRATIONS = Number(process.env.MIGRATIONS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const GAP_MS = Number(process.env.GAP_MS ?? 1000);
const SECRET = 'bench-secret';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = path.join(__dirname, '..');

function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer.split('\n').find((l) => ready.test(l));
      if (match) resolve({ child, line: match });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

const rssMb = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-bench-sub-'));
  const stream = `cds-bench:${randomBytes(4).toString('hex')}:events`;
  // The driver reports for many migrations as one admin: the rate limit is not what this measures.
  const env = {
    JWT_SECRET: SECRET,
    REDIS_URL,
    EVENT_STREAM: stream,
    RATE_LIMIT_PER_MINUTE: '10000000',
    RATE_LIMIT_BURST: '10000000',
    BENCH_DIR: dir,
    CDS_STORES: `*=file:${dir}/cds/{region}`,
  };
  const subgraphs = await startProcess(['bench/support/subgraphs-process.ts'], env, /^\{"urls"/);
  const { urls } = JSON.parse(subgraphs.line) as { urls: Record<string, string> };
  const gateway = await startProcess(
    ['bin/serve.ts', 'gateway'],
    {
      ...env,
      PORT: '0',
      ...Object.fromEntries(Object.entries(urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url])),
    },
    /"msg":"gateway listening"/,
  );
  const gatewayUrl = (JSON.parse(gateway.line) as { url: string }).url;
  const admin = signToken(SECRET, { sub: 'bench', role: 'admin' });
  const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };

  try {
    await gql('mutation { createCustomer(input: { id: "bench", name: "Bench" }) { customer { id } } }', {});
    await gql('mutation { createNetwork(input: { id: "bench-net", name: "Bench", customerId: "bench" }) { network { id } } }', {});
    const runs: { pbx: string; migration: string; token: string }[] = [];
    for (let i = 0; i < MIGRATIONS; i++) {
      const pbx = `be${i.toString(16).padStart(10, '0')}`;
      await gql('mutation ($input: RegisterPbxInput!) { registerPbx(input: $input) { pbx { id } } }', {
        input: {
          id: pbx,
          name: `bench-${i}`,
          kind: 'VIRTUAL',
          wmsVersion: '6.05',
          region: 'eu-central-1',
          customerId: 'bench',
          networkId: 'bench-net',
        },
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < MIGRATIONS; i++) {
      const pbx = `be${i.toString(16).padStart(10, '0')}`;
      const {
        activateCompanyDataStorage: { migration },
      } = await gql<{ activateCompanyDataStorage: { migration: { id: string } } }>(
        'mutation ($p: ID!) { activateCompanyDataStorage(pbxId: $p) { migration { id } } }',
        { p: pbx },
      );
      const {
        beginMigrationRun: { runToken },
      } = await gql<{ beginMigrationRun: { runToken: string } }>(
        'mutation ($id: ID!, $inv: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inv) { runToken } }',
        { id: migration.id, inv: [{ category: 'BACKUPS', itemsTotal: ROUNDS, bytesTotal: ROUNDS }] },
      );
      runs.push({ pbx, migration: migration.id, token: runToken });
    }
    const idleRss = rssMb(gateway.child.pid!);

    // Subscribers: ten partner-like groups of identical subscriptions (what a fleet of dashboards looks like).
    const query = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'MigrationProgress.graphql'), 'utf8');
    const received = new Map<string, number[]>(); // "migration:itemsDone" -> receive times
    // Raw graphql-transport-ws clients: the benchmark process must stay cheaper than what it measures.
    const clients: WebSocket[] = [];
    let subscribed = 0;
    const wsUrl = gatewayUrl.replace(/^http/, 'ws');
    await Promise.all(
      Array.from(
        { length: SUBSCRIBERS },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            const token = signToken(SECRET, { sub: `dash-${i}`, role: 'partner', customers: ['bench'] });
            const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
            socket.on('open', () =>
              socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
            );
            socket.on('message', (raw: Buffer) => {
              const message = JSON.parse(raw.toString()) as {
                type: string;
                payload?: { data?: { migrationProgress: { migration: { id: string; itemsDone: number } } } };
              };
              if (message.type === 'connection_ack') {
                socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { networkId: 'bench-net' } } }));
                subscribed++;
                resolve();
              } else if (message.type === 'next' && message.payload?.data) {
                const m = message.payload.data.migrationProgress.migration;
                const key = `${m.id}:${m.itemsDone}`;
                const list = received.get(key) ?? [];
                list.push(performance.now());
                received.set(key, list);
              } else if (message.type === 'ping') socket.send('{"type":"pong"}');
              else if (message.type === 'error') console.error('subscriber error', JSON.stringify(message));
            });
            socket.on('error', reject);
            clients.push(socket);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const subscribedRss = rssMb(gateway.child.pid!);

    const sent = new Map<string, number>();
    const published = new Map<string, number>();
    let peakRss = subscribedRss;
    for (let round = 1; round <= ROUNDS; round++) {
      // Independent agents: each migration reports at its own moment within the round.
      await Promise.all(
        runs.map(async (run, index) => {
          await new Promise((r) => setTimeout(r, (index * GAP_MS) / runs.length));
          const key = `${run.migration}:${round}`;
          sent.set(key, performance.now());
          await gql(
            'mutation ($id: ID!, $t: String!, $items: [VerifiedItemInput!]!) { reportMigrationProgress(migrationId: $id, runToken: $t, items: $items) { itemsDone } }',
            {
              id: run.migration,
              t: run.token,
              items: [
                {
                  category: 'BACKUPS',
                  sourcePath: `backups/${round}`,
                  objectKey: `${run.pbx}/BACKUPS/backups/${round}`,
                  sizeBytes: 1,
                  sha256: sha(`${run.pbx}${round}`),
                },
              ],
            },
          );
          // The report's transaction committed and its event was on the bus before this response.
          published.set(key, performance.now());
        }),
      );
      peakRss = Math.max(peakRss, rssMb(gateway.child.pid!));
    }
    await new Promise((r) => setTimeout(r, 2000));

    const latencies: number[] = [];
    const endToEnd: number[] = [];
    const mutation: number[] = [];
    let deliveries = 0;
    let missing = 0;
    for (const [key, at] of sent) {
      const times = received.get(key) ?? [];
      deliveries += times.length;
      missing += SUBSCRIBERS - times.length;
      const out = published.get(key)!;
      mutation.push(out - at);
      // A subscriber may get the state before the mutation's response reaches the driver: count that as 0.
      for (const t of times) {
        latencies.push(Math.max(0, t - out));
        endToEnd.push(t - at);
      }
    }
    latencies.sort((a, b) => a - b);
    endToEnd.sort((a, b) => a - b);
    mutation.sort((a, b) => a - b);
    const result = {
      subscribers: subscribed,
      migrations: MIGRATIONS,
      rounds: ROUNDS,
      events: sent.size,
      deliveries,
      missing,
      p50: pct(latencies, 50),
      p90: pct(latencies, 90),
      p99: pct(latencies, 99),
      max: latencies.at(-1) ?? 0,
      e2e50: pct(endToEnd, 50),
      e2e99: pct(endToEnd, 99),
      mutation50: pct(mutation, 50),
      mutation99: pct(mutation, 99),
      idleRss,
      subscribedRss,
      peakRss,
    };
    console.log(JSON.stringify(result, null, 2));
    writeResults(result);
    for (const client of clients) client.close();
  } finally {
    const exited = (child: ChildProcess) =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      });
    await Promise.all([exited(gateway.child), exited(subgraphs.child)]);
    const redis = new Redis(REDIS_URL);
    await redis.del(stream);
    await redis.quit();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function writeResults(r: Record<string, number>): void {
  const f = (n: number) => n.toFixed(1);
  const text = `# Subscriptions benchmark

Command: \`node -r @swc-node/register bench/subscriptions.ts\` (env SUBSCRIBERS, MIGRATIONS, ROUNDS, GAP_MS).

Setup: the gateway in its own process (\`bin/serve.ts gateway\`), the four subgraphs in another
on SQLite files, events through Redis Streams on 127.0.0.1; ${r.subscribers} graphql-ws subscribers
(MigrationProgress with networkId, each its own partner token of one customer) and the driver in
the benchmark process. ${r.migrations} migrations each report one verified item per round, ${r.rounds}
rounds of ${GAP_MS} ms, each migration reporting at its own offset within the round (independent
agents), coalescing interval 100 ms, so every state is delivered.
Latency (event to client): from the moment the progress report's mutation returned (its
transaction committed and its event was on the Redis stream) to a subscriber receiving the state
it produced: Redis, the gateway's tail, the payload query through the supergraph, serialisation
and the WebSocket. End to end adds the mutation itself (gateway, storage subgraph, SQLite, outbox).

Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}. Run on ${new Date().toISOString()}.

| measure | value |
| --- | --- |
| events (migration states) | ${r.events} |
| deliveries | ${r.deliveries} (missing: ${r.missing}) |
| latency p50 | ${f(r.p50)} ms |
| latency p90 | ${f(r.p90)} ms |
| latency p99 | ${f(r.p99)} ms |
| latency max | ${f(r.max)} ms |
| end to end (from sending the report) p50 / p99 | ${f(r.e2e50)} / ${f(r.e2e99)} ms |
| the report mutation itself p50 / p99 | ${f(r.mutation50)} / ${f(r.mutation99)} ms |
| gateway RSS before subscribers | ${f(r.idleRss)} MB |
| gateway RSS with ${r.subscribers} subscribers | ${f(r.subscribedRss)} MB |
| gateway RSS peak while delivering | ${f(r.peakRss)} MB |

Aim: p99 under 250 ms on this machine.
`;
  fs.writeFileSync(path.join(__dirname, 'RESULTS-subscriptions.md'), text);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
