import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { SUBGRAPH_NAMES, SubgraphName } from '../kernel/config';
import { signToken } from '../kernel/identity';

/**
 * Soak: CLIENTS concurrent clients of mixed reads and writes for DURATION_S
 * seconds against the multi-process topology (each subgraph and the gateway
 * its own process, started with the production entry point bin/serve.ts in
 * NODE_ENV=production, on MariaDB and a Redis of its own), with one subgraph
 * (KILL, default licensing) killed with SIGKILL at KILL_AT_S and started
 * again RESTART_AFTER_S later. Reports: errors other than RATE_LIMITED and
 * the killed subgraph's fields while it was down, timeouts, p50/p99 by phase,
 * each process's memory (RSS and V8 heap from its /metrics) before and after,
 * and PBXs acknowledged vs rows found in every database that should have them.
 *
 *   node -r @swc-node/register bench/soak.ts
 *   (CLIENTS, DURATION_S, WRITES, KILL, KILL_AT_S, RESTART_AFTER_S, THINK_MS, BASE_PORT, MYSQL_URL, REDIS_PORT)
 */
const CLIENTS = Number(process.env.CLIENTS ?? 200);
const DURATION_S = Number(process.env.DURATION_S ?? 60);
const KILL = (process.env.KILL ?? 'licensing') as SubgraphName;
const KILL_AT_S = Number(process.env.KILL_AT_S ?? 20);
const RESTART_AFTER_S = Number(process.env.RESTART_AFTER_S ?? 10);
/** pause between one client's requests: uniform in [0, 2 × THINK_MS] */
const THINK_MS = Number(process.env.THINK_MS ?? 250);
/** the share of writes (two thirds registerPbx into the networks being read, one third reportWmsVersion) */
const WRITES = Number(process.env.WRITES ?? 0.3);
const TIMEOUT_MS = 10_000;
const BASE_PORT = Number(process.env.BASE_PORT ?? 5350);
const REDIS_PORT = Number(process.env.REDIS_PORT ?? 5390);
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const SECRET = 'soak-secret-of-at-least-thirty-two-characters';
const METRICS_TOKEN = 'soak-metrics-token';
const NETWORKS = 10;
const PBXS_PER_NETWORK = 5;
const root = path.join(__dirname, '..');
const PORTS: Record<SubgraphName | 'gateway', number> = {
  gateway: BASE_PORT,
  network: BASE_PORT + 1,
  storage: BASE_PORT + 2,
  recordings: BASE_PORT + 3,
  licensing: BASE_PORT + 4,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const DASHBOARD = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'NetworkDashboard.graphql'), 'utf8');
const PBX_DETAILS = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'PbxDetails.graphql'), 'utf8');
const NETWORKS_PAGE = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'Networks.graphql'), 'utf8');
const PROVISIONING = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'Provisioning.graphql'), 'utf8');
const LIFECYCLE = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'Lifecycle.graphql'), 'utf8');

interface Service {
  name: SubgraphName | 'gateway';
  child: ChildProcess;
  exited: boolean;
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-soak-'));
  const prefix = `soak_${randomBytes(3).toString('hex')}`;
  const redis = spawn('redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await sleep(300);
  const base = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    METRICS_TOKEN,
    LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'info',
    REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}`,
    EVENT_STREAM: `${prefix}:events`,
    CDS_STORES: `*=file:${work}/cds/{region}`,
    PATH: process.env.PATH ?? '',
  };
  const services = new Map<string, Service>();
  const start = (name: SubgraphName | 'gateway'): Service => {
    const out = fs.openSync(path.join(work, `${name}.log`), 'a');
    const env: Record<string, string> = { ...base, PORT: String(PORTS[name]) };
    if (name === 'gateway') for (const s of SUBGRAPH_NAMES) env[`SUBGRAPH_${s.toUpperCase()}_URL`] = `http://127.0.0.1:${PORTS[s]}/graphql`;
    else env.DATABASE_URL = `${MYSQL_URL}/${prefix}_${name}`;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'bin/serve.ts', name], {
      cwd: root,
      env,
      stdio: ['ignore', out, out],
    });
    const service: Service = { name, child, exited: false };
    child.on('exit', () => (service.exited = true));
    services.set(name, service);
    return service;
  };
  const healthy = async (name: SubgraphName | 'gateway', timeoutMs = 180_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (services.get(name)?.exited) throw new Error(`${name} exited; see ${work}/${name}.log`);
      try {
        if ((await fetch(`http://127.0.0.1:${PORTS[name]}/health`)).ok) return;
      } catch {
        /* not yet */
      }
      if (Date.now() > deadline) throw new Error(`${name} did not start; see ${work}/${name}.log`);
      await sleep(200);
    }
  };
  const scrape = async (name: SubgraphName | 'gateway') => {
    const response = await fetch(`http://127.0.0.1:${PORTS[name]}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return response.ok ? response.text() : '';
  };
  const metric = (text: string, name: string, labels = '') =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name) && l.includes(labels))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  const memory = async () =>
    Object.fromEntries(
      await Promise.all(
        [...services.values()]
          .filter((s) => !s.exited)
          .map(async (s) => {
            const text = await scrape(s.name).catch(() => '');
            return [s.name, { rss: rssMb(s.child.pid!), heap: metric(text, 'nodejs_heap_size_used_bytes') / 1024 / 1024 }] as const;
          }),
      ),
    );

  let failure: unknown = null;
  try {
    for (const name of SUBGRAPH_NAMES) start(name);
    for (const name of SUBGRAPH_NAMES) await healthy(name);
    start('gateway');
    await healthy('gateway');
    const gatewayUrl = `http://127.0.0.1:${PORTS.gateway}/graphql`;
    const admin = signToken(SECRET, { sub: 'soak-setup', role: 'admin' });
    const gql = async (token: string, query: string, variables: Record<string, unknown>, operationName?: string) => {
      const response = await fetch(gatewayUrl, {
        method: 'POST',
        signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables, operationName }),
      });
      return (await response.json()) as {
        data?: Record<string, unknown> | null;
        errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
      };
    };

    // Setup: networks of PBXs to read.
    const networks: string[] = [];
    const pbxs: string[] = [];
    await gql(admin, PROVISIONING, { input: { id: 'soak-customer', name: 'Soak customer' } }, 'CreateCustomer');
    for (let n = 0; n < NETWORKS; n++) {
      const id = `soak-net-${n}`;
      networks.push(id);
      await gql(admin, PROVISIONING, { input: { id, name: `Soak network ${n}`, customerId: 'soak-customer' } }, 'CreateNetwork');
      for (let p = 0; p < PBXS_PER_NETWORK; p++) {
        const serial = `5a${n.toString(16).padStart(4, '0')}${p.toString(16).padStart(6, '0')}`;
        pbxs.push(serial);
        const r = await gql(
          admin,
          PROVISIONING,
          {
            input: {
              id: serial,
              name: `soak-${serial}`,
              kind: ['CLOUD', 'VIRTUAL', 'HARDWARE'][p % 3],
              wmsVersion: '6.04.20230901.1',
              region: 'eu-central-1',
              customerId: 'soak-customer',
              networkId: id,
            },
          },
          'RegisterPbx',
        );
        if (r.errors) throw new Error(`setup: ${JSON.stringify(r.errors)}`);
      }
    }
    await sleep(2000);
    const before = await memory();

    // The load.
    type Kind = 'NetworkDashboard' | 'PbxDetails' | 'Networks' | 'RegisterPbx' | 'ReportWmsVersion';
    interface Sample {
      at: number;
      ms: number;
      kind: Kind;
      outcome: 'ok' | 'partial' | 'error' | 'timeout';
    }
    const samples: Sample[] = [];
    const errors = new Map<string, number>();
    const unexpected: string[] = [];
    const acknowledged = new Set<string>();
    const ambiguous = new Set<string>();
    let killedAt = 0;
    let restartedAt = 0;
    let recoveredAt = 0;
    const t0 = Date.now();
    const deadline = t0 + DURATION_S * 1000;
    const down = () => killedAt > 0 && (recoveredAt === 0 || Date.now() < recoveredAt + 2000);
    const countError = (key: string) => errors.set(key, (errors.get(key) ?? 0) + 1);

    const client = async (index: number) => {
      const token = signToken(SECRET, { sub: `soak-client-${index}`, role: 'admin' }, 3600);
      let seq = 0;
      while (Date.now() < deadline) {
        const roll = Math.random();
        const reads = 1 - WRITES;
        const kind: Kind =
          roll < reads * (4 / 7)
            ? 'NetworkDashboard'
            : roll < reads * (6 / 7)
              ? 'PbxDetails'
              : roll < reads
                ? 'Networks'
                : roll < reads + WRITES * (2 / 3)
                  ? 'RegisterPbx'
                  : 'ReportWmsVersion';
        const network = networks[Math.floor(Math.random() * networks.length)];
        const pbx = pbxs[Math.floor(Math.random() * pbxs.length)];
        const serial = `e5${index.toString(16).padStart(3, '0')}${(seq++).toString(16).padStart(7, '0')}`;
        const [query, variables, op] = {
          NetworkDashboard: [DASHBOARD, { networkId: network }, undefined],
          PbxDetails: [PBX_DETAILS, { pbxId: pbx }, undefined],
          Networks: [NETWORKS_PAGE, { first: 20, customerId: 'soak-customer' }, undefined],
          RegisterPbx: [
            PROVISIONING,
            {
              input: {
                id: serial,
                name: `soak-${serial}`,
                kind: 'CLOUD',
                wmsVersion: '6.04.20230901.1',
                region: 'eu-central-1',
                customerId: 'soak-customer',
                networkId: network,
              },
            },
            'RegisterPbx',
          ],
          ReportWmsVersion: [LIFECYCLE, { pbxId: pbx, version: '6.04.20230901.1' }, 'ReportWmsVersion'],
        }[kind] as [string, Record<string, unknown>, string | undefined];
        const started = performance.now();
        let outcome: Sample['outcome'] = 'ok';
        try {
          const result = await gql(token, query, variables, op);
          const list = result.errors ?? [];
          if (list.length) outcome = result.data && Object.values(result.data).some((v) => v !== null) ? 'partial' : 'error';
          for (const e of list) {
            const code = String(e.extensions?.code ?? 'NONE');
            const owner = String(e.extensions?.subgraph ?? e.extensions?.serviceName ?? '');
            countError(`${kind} ${code}${owner ? ` (${owner})` : ''}`);
            const expected = code === 'RATE_LIMITED' || (owner === KILL && down());
            if (!expected && unexpected.length < 20)
              unexpected.push(
                `${((Date.now() - t0) / 1000).toFixed(1)}s ${kind}: ${code} ${e.message.slice(0, 160)} path=${JSON.stringify(e.path ?? null)}`,
              );
            if (!expected) countError('UNEXPECTED');
          }
          if (kind === 'RegisterPbx') {
            const id = (result.data?.registerPbx as { pbx?: { id?: string } } | null)?.pbx?.id;
            if (id) acknowledged.add(id);
            else ambiguous.add(serial);
          }
        } catch (error) {
          outcome = (error as Error).name === 'TimeoutError' ? 'timeout' : 'error';
          countError(`${kind} ${outcome === 'timeout' ? 'TIMEOUT' : `FETCH ${(error as Error).message}`}`);
          countError('UNEXPECTED');
          if (kind === 'RegisterPbx') ambiguous.add(serial);
        }
        samples.push({ at: Date.now() - t0, ms: performance.now() - started, kind, outcome });
        await sleep(Math.random() * 2 * THINK_MS);
      }
    };
    const fault = (async () => {
      await sleep(KILL_AT_S * 1000);
      services.get(KILL)!.child.kill('SIGKILL');
      killedAt = Date.now() - t0;
      await sleep(RESTART_AFTER_S * 1000);
      restartedAt = Date.now() - t0;
      start(KILL);
      await healthy(KILL);
      recoveredAt = Date.now() - t0;
    })();
    await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), fault]);

    // Let the events settle: every consumer's lag back to 0.
    const settleStart = Date.now();
    for (;;) {
      const lags = await Promise.all(
        SUBGRAPH_NAMES.map(async (s) => metric(await scrape(s), 'cds_event_lag') + metric(await scrape(s), 'cds_outbox_backlog')),
      );
      if (lags.every((n) => n === 0) || Date.now() - settleStart > 60_000) break;
      await sleep(500);
    }
    const settledMs = Date.now() - settleStart;
    await sleep(10_000);
    const after = await memory();
    const gatewayMetrics = await scrape('gateway');

    // Rows: every acknowledged PBX in the network subgraph and in each replica fed by events.
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    const created = [...acknowledged];
    const countIn = async (db: string, table: string, column: string, ids: string[]) => {
      let found = 0;
      for (let i = 0; i < ids.length; i += 1000) {
        const slice = ids.slice(i, i + 1000);
        if (!slice.length) continue;
        const [rows] = await connection.query(`SELECT COUNT(*) AS n FROM \`${prefix}_${db}\`.\`${table}\` WHERE \`${column}\` IN (?)`, [
          slice,
        ]);
        found += Number((rows as { n: number }[])[0].n);
      }
      return found;
    };
    const rows = {
      'network.pbx': await countIn('network', 'pbx', 'id', created),
      'storage.directory_pbx': await countIn('storage', 'directory_pbx', 'id', created),
      'recordings.directory_pbx': await countIn('recordings', 'directory_pbx', 'id', created),
      'licensing.directory_pbx': await countIn('licensing', 'directory_pbx', 'id', created),
    };
    const ambiguousFound = await countIn('network', 'pbx', 'id', [...ambiguous]);
    await connection.end();

    // Report.
    const phase = (from: number, to: number) => {
      const sorted = samples
        .filter((s) => s.at >= from && s.at < to)
        .map((s) => s.ms)
        .sort((a, b) => a - b);
      return { n: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
    };
    const all = phase(0, Infinity);
    const fmt = (p: { n: number; p50: number; p99: number; max: number }) =>
      `${p.n} requests, p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, max ${p.max.toFixed(0)} ms`;
    const timeouts = samples.filter((s) => s.outcome === 'timeout').length;
    const lines = [
      `clients ${CLIENTS}, ${DURATION_S} s, writes ${Math.round(WRITES * 100)}%, think time 0-${2 * THINK_MS} ms; ${KILL} killed (SIGKILL) at ${(killedAt / 1000).toFixed(1)} s, started again at ${(restartedAt / 1000).toFixed(1)} s, healthy at ${(recoveredAt / 1000).toFixed(1)} s`,
      `all:            ${fmt(all)} (${(all.n / DURATION_S).toFixed(0)}/s)`,
      `before the kill: ${fmt(phase(0, killedAt))}`,
      `while down:      ${fmt(phase(killedAt, recoveredAt))}`,
      `after recovery:  ${fmt(phase(recoveredAt, Infinity))}`,
      ...(['NetworkDashboard', 'PbxDetails', 'Networks', 'RegisterPbx', 'ReportWmsVersion'] as Kind[]).map((k) => {
        const sorted = samples
          .filter((s) => s.kind === k)
          .map((s) => s.ms)
          .sort((a, b) => a - b);
        return `  ${k.padEnd(17)} ${sorted.length} requests, p50 ${pct(sorted, 50).toFixed(0)} ms, p99 ${pct(sorted, 99).toFixed(0)} ms`;
      }),
      `timeouts (${TIMEOUT_MS / 1000} s): ${timeouts}`,
      `errors by operation and code: ${JSON.stringify(Object.fromEntries([...errors].sort()))}`,
      `unexpected errors (not RATE_LIMITED, not the killed subgraph's fields while it was down): ${errors.get('UNEXPECTED') ?? 0}`,
      ...unexpected.map((u) => `  ${u}`),
      `PBXs acknowledged: ${created.length}; found: ${JSON.stringify(rows)}; events settled in ${settledMs} ms`,
      `registerPbx without an acknowledgement: ${ambiguous.size} (of which ${ambiguousFound} were created anyway)`,
      `memory MB (RSS / V8 heap used), before -> after (10 s idle after the load):`,
      ...[...services.keys()].map((name) => {
        const b = before[name];
        const a = after[name];
        const note = name === KILL ? ' (after: the restarted process)' : '';
        return `  ${name.padEnd(10)} ${b?.rss.toFixed(0)} / ${b?.heap.toFixed(0)} -> ${a?.rss.toFixed(0)} / ${a?.heap.toFixed(0)}${b && a ? `  (RSS ${(((a.rss - b.rss) / b.rss) * 100).toFixed(0)}%, heap ${(((a.heap - b.heap) / b.heap) * 100).toFixed(0)}%)` : ''}${note}`;
      }),
      `gateway subgraph fetches: ${gatewayMetrics
        .split('\n')
        .filter((l) => l.startsWith('cds_subgraph_fetch_duration_seconds_count'))
        .map((l) => l.replace(/cds_subgraph_fetch_duration_seconds_count|service="gateway",?/g, ''))
        .join(', ')}`,
      `gateway refused: ${
        gatewayMetrics
          .split('\n')
          .filter((l) => l.startsWith('cds_refused_requests_total'))
          .map((l) => l.replace(/cds_refused_requests_total|service="gateway",?/g, ''))
          .join(', ') || 'none'
      }`,
      `logs: ${work}/*.log`,
    ];
    console.log(lines.join('\n'));
  } catch (error) {
    failure = error;
  } finally {
    for (const service of services.values()) if (!service.exited) service.child.kill('SIGTERM');
    await sleep(2000);
    for (const service of services.values()) if (!service.exited) service.child.kill('SIGKILL');
    redis.kill('SIGTERM');
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    for (const name of SUBGRAPH_NAMES) await connection.query(`DROP DATABASE IF EXISTS \`${prefix}_${name}\``);
    await connection.end();
  }
  if (failure) {
    console.error(failure);
    process.exit(1);
  }
}

void main();
