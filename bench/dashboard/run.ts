import 'reflect-metadata';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { signToken } from '../../kernel/identity';
import { SUBGRAPH_NAMES, SubgraphName } from '../../kernel/config';
import { networkId, seedNetworks } from './seed';

/**
 * The contract's NetworkDashboard through four gateways in front of the same
 * four subgraph processes (production topology: each subgraph its own process,
 * NODE_ENV=production, MariaDB, Redis Streams), alternating rounds:
 *   cds-graph            our gateway (its production entry point)
 *   apollo-defaults      Apollo Server + @apollo/gateway as the docs set them up
 *   hive                 Hive Gateway + Rust query planner (@graphql-hive/router-runtime), defaults (in-flight dedup on)
 *   hive-nodedup         the same with in-flight deduplication off
 * Every answer is compared with the reference (the first answer of
 * apollo-defaults, which must also match the seeded sizes); a differing or
 * failed answer is counted and reported.
 *
 *   npm run bench:dashboard       (installs bench/dashboard's own packages first)
 * Env: SIZES (5,50,500), CONNECTIONS (20,50), ROUNDS (5), DURATION (seconds per
 * round, 4), IDENTITIES (shared,per-client), GATEWAYS (all four), LATENCY_REQUESTS (200),
 * WARMUP_REQUESTS (300) / WARMUP_SECONDS (20) per gateway and size,
 * MYSQL_URL, REDIS_URL, BENCH_LABEL (names the results file).
 */
const env = process.env;
const list = (name: string, fallback: string) => (env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const SIZES = list('SIZES', '5,50,500').map(Number);
const CONNECTIONS = list('CONNECTIONS', '20,50').map(Number);
const ROUNDS = Number(env.ROUNDS ?? 5);
const DURATION = Number(env.DURATION ?? 4);
const IDENTITIES = list('IDENTITIES', 'shared,per-client') as ('shared' | 'per-client')[];
const GATEWAY_NAMES = list('GATEWAYS', 'cds-graph,apollo-defaults,hive,hive-nodedup');
const LATENCY_REQUESTS = Number(env.LATENCY_REQUESTS ?? 200);
const WARMUP_REQUESTS = Number(env.WARMUP_REQUESTS ?? 300);
const WARMUP_SECONDS = Number(env.WARMUP_SECONDS ?? 20);
const MYSQL_URL = env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = 'bench12';
const SECRET = 'bench-dashboard-secret-of-at-least-32-characters';
const root = path.join(__dirname, '..', '..');
const here = __dirname;
const SUBGRAPH_PORTS: Record<SubgraphName, number> = { network: 5401, storage: 5402, recordings: 5403, licensing: 5404 };
const GATEWAY_PORTS: Record<string, number> = { 'cds-graph': 5410, 'apollo-defaults': 5411, hive: 5412, 'hive-nodedup': 5413 };
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
/** PROFILE=1: our processes write V8 CPU profiles into bench/.work/profiles when they stop (summarize with profile-summary.cjs). */
const PROFILE_ARGS = env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench', '.work', 'profiles')}`] : [];
const QUERY = fs.readFileSync(path.join(root, '..', 'shared', 'contract', 'operations', 'NetworkDashboard.graphql'), 'utf8');

// The load loop is undici's (a dependency of the product already): N clients, each
// sending its next request when its answer came; at the deadline each finishes the one
// it has in flight, so every request the gateway and subgraphs spent CPU on is counted.
// (autocannon abandons requests in flight at the end, which skews CPU per request at
// low throughput.)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Pool } = require('undici') as typeof import('undici');

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

function startProcess(name: string, args: string[], extraEnv: Record<string, string>, ready: RegExp, cwd = root): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) { out = ''; resolve(child); }
      if (out.length > 100_000) out = out.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => { onData(chunk); if (env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk}`); });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out.slice(-2000)}`)));
  });
}

/** CPU seconds (user + system) of a process and its descendants. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  const visit = (p: number) => {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const task of fs.readdirSync(`/proc/${p}/task`)) {
        const children = fs.readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const c of children ? children.split(' ') : []) visit(Number(c));
      }
    } catch { /* exited */ }
  };
  visit(pid);
  return ticks / CLK_TCK;
}

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch { return NaN; }
}

async function probe(name: SubgraphName, record?: boolean): Promise<{ count: number; spans: [number, number][] }> {
  const query = record === undefined ? '' : `?record=${record ? 1 : 0}`;
  const response = await fetch(`http://127.0.0.1:${SUBGRAPH_PORTS[name]}/__bench/probe${query}`);
  return (await response.json()) as { count: number; spans: [number, number][] };
}
const subgraphRequests = async () => (await Promise.all(SUBGRAPH_NAMES.map((n) => probe(n)))).reduce((sum, p) => sum + p.count, 0);

const tokenFor = (size: number, client: string) => signToken(SECRET, { sub: `partner:${client}`, role: 'partner', customers: [`bench-co-${size}`] });
const body = (size: number) => JSON.stringify({ query: QUERY, variables: { networkId: networkId(size) }, operationName: 'NetworkDashboard' });

async function post(url: string, size: number, token: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body(size) });
  return { status: response.status, text: await response.text() };
}

interface Gateway { name: string; url: string; child: ChildProcess }

interface Round {
  gateway: string; size: number; connections: number; identity: string; round: number;
  rps: number; p50: number; p99: number; requests: number; failed: number; mismatched: number;
  gatewayCpuMs: number; subgraphCpuMs: Record<SubgraphName, number>; subgraphRequestsPerDashboard: number; rssMb: number;
  /** the same CPU less what the processes spend idle (timers, event-stream polling) over the run */
  gatewayCpuNetMs: number; subgraphCpuNetMs: number;
}

async function main(): Promise<void> {
  const cores = os.cpus().length;
  log(`${cores} cores, ${os.cpus()[0]?.model}; node ${process.version}; sizes ${SIZES} connections ${CONNECTIONS} rounds ${ROUNDS} x ${DURATION}s`);
  await seedNetworks({ mysqlUrl: MYSQL_URL, prefix: PREFIX, sizes: SIZES, secret: SECRET, log });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-bench-dashboard-'));
  const stream = `cds-bench12:${randomBytes(4).toString('hex')}:events`;
  const common = { NODE_ENV: 'production', JWT_SECRET: SECRET, REDIS_URL, EVENT_STREAM: stream, CDS_STORES: `*=file:${dir}/cds/{region}` };
  const entry = fs.existsSync(path.join(root, 'bin', 'serve.ts')) ? 'bin/serve.ts' : 'dev/serve.ts';
  const children: ChildProcess[] = [];
  const stopAll = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
  process.once('exit', stopAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stopAll(); process.exit(130); });

  const subgraphs = {} as Record<SubgraphName, ChildProcess>;
  await Promise.all(SUBGRAPH_NAMES.map(async (name) => {
    subgraphs[name] = await startProcess(name, [...PROFILE_ARGS, '-r', '@swc-node/register', '-r', path.join(here, 'probe.cjs'), entry, name], {
      ...common, PORT: String(SUBGRAPH_PORTS[name]), DATABASE_URL: `${MYSQL_URL}/${PREFIX}_${name}`,
    }, /subgraph listening on/);
    children.push(subgraphs[name]);
  }));
  log('subgraphs up');

  // The supergraph, pointed at these subgraph processes (for the peers, which read URLs from it).
  let supergraph = fs.readFileSync(path.join(root, 'schema', 'supergraph.graphql'), 'utf8');
  for (const name of SUBGRAPH_NAMES) {
    supergraph = supergraph.replace(new RegExp(`(join__graph\\(name: "${name}", url: ")[^"]*"`), `$1http://127.0.0.1:${SUBGRAPH_PORTS[name]}/graphql"`);
  }
  const supergraphFile = path.join(dir, 'supergraph.graphql');
  fs.writeFileSync(supergraphFile, supergraph);
  const hiveBin = path.join(here, 'node_modules', '@graphql-hive', 'gateway', 'dist', 'bin.js');

  const gateways: Gateway[] = [];
  for (const name of GATEWAY_NAMES) {
    const port = String(GATEWAY_PORTS[name]);
    let child: ChildProcess;
    if (name === 'cds-graph') {
      child = await startProcess(name, [...PROFILE_ARGS, '-r', '@swc-node/register', ...(PROFILE_ARGS.length ? ['-r', path.join(here, 'probe.cjs')] : []), entry, 'gateway'], {
        ...common, PORT: port, RATE_LIMIT_PER_MINUTE: '10000000', RATE_LIMIT_BURST: '10000000',
        ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [`SUBGRAPH_${n.toUpperCase()}_URL`, `http://127.0.0.1:${SUBGRAPH_PORTS[n]}/graphql`])),
      }, /gateway listening on/);
    } else if (name === 'apollo-defaults') {
      child = await startProcess(name, [path.join(here, 'apollo-gateway.mjs')], { NODE_ENV: 'production', PORT: port, SUPERGRAPH_FILE: supergraphFile }, /listening on/, here);
    } else {
      // One worker, as the others are single processes (its CPU is counted with its descendants).
      child = await startProcess(name, [hiveBin, 'supergraph', supergraphFile, '--port', port, '--host', '127.0.0.1', '--fork', '1', '-c', path.join(here, 'gateway.config.mjs')], {
        NODE_ENV: 'production', HIVE_DEDUP: name === 'hive-nodedup' ? 'off' : 'on',
      }, /Listening on|listening on/i, here);
    }
    children.push(child);
    gateways.push({ name, url: `http://127.0.0.1:${port}/graphql`, child });
    log(`${name} up (pid ${child.pid})`);
  }

  // The reference answer of each size, and every gateway's first answer checked against it.
  const reference = new Map<number, unknown>();
  for (const size of SIZES) {
    const referenceGateway = gateways.find((g) => g.name === 'apollo-defaults') ?? gateways[0];
    const first = await post(referenceGateway.url, size, tokenFor(size, 'reference'));
    const parsed = JSON.parse(first.text) as { data?: { network?: { pbxCount: number; pbxs: unknown[] } }; errors?: unknown };
    if (first.status !== 200 || parsed.errors || parsed.data?.network?.pbxCount !== size || parsed.data.network.pbxs.length !== size) {
      throw new Error(`reference answer for ${size} PBXs is wrong: ${first.text.slice(0, 500)}`);
    }
    reference.set(size, parsed);
    for (const g of gateways) {
      const answer = await post(g.url, size, tokenFor(size, 'reference'));
      if (answer.status !== 200 || !isDeepStrictEqual(JSON.parse(answer.text), parsed)) throw new Error(`${g.name} answers ${size} PBXs differently: ${answer.text.slice(0, 500)}`);
    }
  }
  log('every gateway answers as the reference');

  // What each process spends doing nothing (outbox relay timers, event-stream reads, schema polling), per second.
  const idle = { gateways: new Map<string, number>(), subgraphs: 0 };
  {
    const before = { g: gateways.map((g) => cpuSeconds(g.child.pid!)), s: SUBGRAPH_NAMES.reduce((a, n) => a + cpuSeconds(subgraphs[n].pid!), 0) };
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const seconds = (performance.now() - t0) / 1000;
    gateways.forEach((g, i) => idle.gateways.set(g.name, (cpuSeconds(g.child.pid!) - before.g[i]) / seconds));
    idle.subgraphs = (SUBGRAPH_NAMES.reduce((a, n) => a + cpuSeconds(subgraphs[n].pid!), 0) - before.s) / seconds;
    log(`idle CPU: subgraphs ${(idle.subgraphs * 1000).toFixed(0)} ms/s together; ${gateways.map((g) => `${g.name} ${(idle.gateways.get(g.name)! * 1000).toFixed(0)} ms/s`).join(', ')}`);
  }

  /** One load run: `connections` clients against one gateway for `seconds`, every answer verified. */
  async function load(g: Gateway, size: number, connections: number, identity: 'shared' | 'per-client', seconds: number) {
    const expected = reference.get(size);
    const seen = new Set<string>();
    let mismatched = 0;
    let failed = 0;
    const verify = (status: number, text: string) => {
      if (status !== 200) { failed++; return; }
      if (seen.has(text)) return;
      // Each distinct body text is parsed and compared once (gateways answer the same bytes every time).
      let same: boolean;
      try { same = isDeepStrictEqual(JSON.parse(text), expected); } catch { same = false; }
      if (same && seen.size < 16) seen.add(text);
      if (!same) mismatched++;
    };
    const shared = tokenFor(size, 'bench');
    const payload = body(size);
    const url = new URL(g.url);
    const pool = new Pool(url.origin, { connections, pipelining: 1 });
    const latencies: number[] = [];
    const subgraphCpu0 = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, cpuSeconds(subgraphs[n].pid!)]));
    const gatewayCpu0 = cpuSeconds(g.child.pid!);
    const subgraphRequests0 = await subgraphRequests();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(Array.from({ length: connections }, async (_, client) => {
      const token = identity === 'shared' ? shared : tokenFor(size, `client-${client}-${randomBytes(3).toString('hex')}`);
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
      while (performance.now() < deadline) {
        const at = performance.now();
        try {
          const response = await pool.request({ path: url.pathname, method: 'POST', headers, body: payload, headersTimeout: 60_000, bodyTimeout: 60_000 });
          const text = await response.body.text();
          latencies.push(performance.now() - at);
          verify(response.statusCode, text);
        } catch {
          failed++;
        }
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const gatewayCpu = cpuSeconds(g.child.pid!) - gatewayCpu0;
    const subgraphCpu = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, cpuSeconds(subgraphs[n].pid!) - subgraphCpu0[n]])) as Record<SubgraphName, number>;
    const subgraphRequestsDone = await subgraphRequests();
    await pool.close();
    const requests = latencies.length;
    const sorted = latencies.sort((a, b) => a - b);
    const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
    const perRequestMs = (cpu: number) => (requests ? (cpu * 1000) / requests : NaN);
    return {
      rps: requests / elapsed, p50: pct(50), p99: pct(99), requests, failed, mismatched,
      gatewayCpuMs: perRequestMs(gatewayCpu),
      gatewayCpuNetMs: perRequestMs(Math.max(0, gatewayCpu - idle.gateways.get(g.name)! * elapsed)),
      subgraphCpuNetMs: perRequestMs(Math.max(0, Object.values(subgraphCpu).reduce((a, b) => a + b, 0) - idle.subgraphs * elapsed)),
      subgraphCpuMs: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, perRequestMs(subgraphCpu[n])])) as Record<SubgraphName, number>,
      subgraphRequestsPerDashboard: requests ? (subgraphRequestsDone - subgraphRequests0) / requests : NaN,
      rssMb: rssMb(g.child.pid!),
    };
  }

  // Sequential, one connection: what each gateway adds to the subgraphs' critical path.
  const latency: { gateway: string; size: number; p50: number; p99: number; subgraphPath: number; added: number; addedP99: number }[] = [];
  const latencySize = SIZES.includes(50) ? 50 : SIZES[0];
  for (const round of LATENCY_REQUESTS > 0 ? [1, 2] : []) {
    for (const g of round === 1 ? gateways : [...gateways].reverse()) {
      const token = tokenFor(latencySize, 'latency');
      for (let i = 0; i < 50; i++) await post(g.url, latencySize, token); // warm-up
      await Promise.all(SUBGRAPH_NAMES.map((n) => probe(n, true)));
      const windows: [number, number][] = [];
      for (let i = 0; i < LATENCY_REQUESTS; i++) {
        const start = performance.timeOrigin + performance.now();
        const answer = await post(g.url, latencySize, token);
        windows.push([start, performance.timeOrigin + performance.now()]);
        if (answer.status !== 200 || !isDeepStrictEqual(JSON.parse(answer.text), reference.get(latencySize))) throw new Error(`${g.name}: wrong answer in the latency run`);
      }
      const spans = (await Promise.all(SUBGRAPH_NAMES.map((n) => probe(n, false)))).flatMap((p) => p.spans).sort((a, b) => a[0] - b[0]);
      const totals: number[] = [];
      const added: number[] = [];
      for (const [start, end] of windows) {
        // The union of the subgraph requests inside this request: time some subgraph was working for it.
        let busy = 0; let reach = -Infinity;
        for (const [s, e] of spans) {
          if (s < start || e > end) continue;
          const from = Math.max(s, reach);
          if (e > from) busy += e - from;
          reach = Math.max(reach, e);
        }
        totals.push(end - start);
        added.push(end - start - busy);
      }
      const med = (xs: number[], p = 50) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
      const entryRow = { gateway: g.name, size: latencySize, p50: med(totals), p99: med(totals, 99), subgraphPath: med(totals) - med(added), added: med(added), addedP99: med(added, 99) };
      latency.push(entryRow);
      log(`latency ${g.name} round ${round}: p50 ${entryRow.p50.toFixed(2)} ms, subgraph path ${entryRow.subgraphPath.toFixed(2)} ms, gateway adds ${entryRow.added.toFixed(2)} ms (p99 ${entryRow.addedP99.toFixed(2)})`);
    }
  }

  const rounds: Round[] = [];
  const label = env.BENCH_LABEL ?? new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(here, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  // Each round as it completes (a run stopped early keeps what it measured).
  const jsonl = path.join(resultsDir, `${label}.jsonl`);
  fs.writeFileSync(jsonl, '');
  for (const size of SIZES) {
    // Warm-up (JIT, plan caches, pools): at least WARMUP_REQUESTS answers or WARMUP_SECONDS, per gateway and size.
    for (const g of gateways) {
      for (let done = 0, t0 = performance.now(); done < WARMUP_REQUESTS && performance.now() - t0 < WARMUP_SECONDS * 1000;) {
        done += (await load(g, size, 20, 'shared', 1)).requests;
      }
    }
    for (const identity of IDENTITIES) {
      for (const connections of CONNECTIONS) {
        for (let round = 1; round <= ROUNDS; round++) {
          // Alternate: each round starts with the next gateway.
          const order = gateways.map((_, i) => gateways[(i + round - 1) % gateways.length]);
          for (const g of order) {
            const r = await load(g, size, connections, identity, DURATION);
            rounds.push({ gateway: g.name, size, connections, identity, round, ...r });
            fs.appendFileSync(jsonl, `${JSON.stringify(rounds[rounds.length - 1])}\n`);
            log(`${size} PBXs ${identity} c=${connections} round ${round} ${g.name}: ${r.rps.toFixed(1)} rps p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} gw ${r.gatewayCpuMs.toFixed(2)} ms sg ${Object.values(r.subgraphCpuMs).reduce((a, b) => a + b, 0).toFixed(2)} ms (net ${r.subgraphCpuNetMs.toFixed(2)}) ${r.subgraphRequestsPerDashboard.toFixed(2)} req/dash${r.failed || r.mismatched ? ` FAILED ${r.failed} MISMATCHED ${r.mismatched}` : ''}`);
          }
        }
      }
    }
  }

  if (PROFILE_ARGS.length) {
    // Profiles are written on a normal exit.
    const ports = [...SUBGRAPH_NAMES.map((n) => SUBGRAPH_PORTS[n]), ...gateways.filter((g) => g.name === 'cds-graph').map((g) => GATEWAY_PORTS[g.name])];
    await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/__bench/exit`).catch(() => undefined)));
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  stopAll();
  const raw = { label, at: new Date().toISOString(), idle: { subgraphsCpuMsPerSecond: idle.subgraphs * 1000, gatewaysCpuMsPerSecond: Object.fromEntries([...idle.gateways].map(([k, v]) => [k, v * 1000])) }, machine: { cores, cpu: os.cpus()[0]?.model, node: process.version, load: os.loadavg() }, settings: { SIZES, CONNECTIONS, ROUNDS, DURATION, IDENTITIES }, rounds, latency };
  fs.writeFileSync(path.join(resultsDir, `${label}.json`), JSON.stringify(raw, null, 2));
  const markdown = summarize(rounds, latency);
  fs.writeFileSync(path.join(resultsDir, `${label}.md`), `# NetworkDashboard benchmark: ${label}\n\n${raw.at}, ${cores} cores (${raw.machine.cpu}), Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.\nMedians of ${ROUNDS} alternating rounds of ${DURATION} s.\nIdle CPU (no load): subgraphs ${raw.idle.subgraphsCpuMsPerSecond.toFixed(0)} ms/s together; ${Object.entries(raw.idle.gatewaysCpuMsPerSecond).map(([k, v]) => `${k} ${v.toFixed(0)} ms/s`).join(', ')}.\n\n${markdown}`);
  console.log(markdown);
  log(`written to bench/dashboard/results/${label}.md`);
  process.exit(0);
}

const median = (xs: number[]) => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function summarize(rounds: Round[], latency: { gateway: string; size: number; p50: number; subgraphPath: number; added: number; addedP99: number }[]): string {
  const lines: string[] = [];
  const groups = new Map<string, Round[]>();
  for (const r of rounds) {
    const key = `${r.size}|${r.identity}|${r.connections}|${r.gateway}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  let current = '';
  for (const [key, rs] of groups) {
    const [size, identity, connections, gateway] = key.split('|');
    const heading = `${size} PBXs, ${identity === 'shared' ? 'one shared token' : 'one token per client'}, ${connections} connections`;
    if (heading !== current) {
      current = heading;
      lines.push('', `### ${heading}`, '', '| gateway | RPS | p50 ms | p99 ms | gateway CPU ms/req (net of idle) | subgraph CPU ms/req: network+storage+recordings+licensing (all four net of idle) | subgraph requests per dashboard | gateway RSS MB | failed / mismatched |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    }
    const sg = SUBGRAPH_NAMES.map((n) => median(rs.map((r) => r.subgraphCpuMs[n])));
    lines.push(`| ${gateway} | ${median(rs.map((r) => r.rps)).toFixed(1)} | ${median(rs.map((r) => r.p50)).toFixed(0)} | ${median(rs.map((r) => r.p99)).toFixed(0)} | ${median(rs.map((r) => r.gatewayCpuMs)).toFixed(2)} (${median(rs.map((r) => r.gatewayCpuNetMs)).toFixed(2)}) | ${sg.reduce((a, b) => a + b, 0).toFixed(2)} = ${sg.map((x) => x.toFixed(2)).join(' + ')} (${median(rs.map((r) => r.subgraphCpuNetMs)).toFixed(2)}) | ${median(rs.map((r) => r.subgraphRequestsPerDashboard)).toFixed(2)} | ${median(rs.map((r) => r.rssMb)).toFixed(0)} | ${rs.reduce((a, r) => a + r.failed, 0)} / ${rs.reduce((a, r) => a + r.mismatched, 0)} |`);
  }
  if (latency.length) {
    lines.push('', `### One connection, sequential, ${latency[0].size} PBXs (${LATENCY_REQUESTS} requests, two rounds)`, '', '| gateway | round-trip p50 ms | subgraph critical path ms | gateway adds p50 ms | gateway adds p99 ms |', '| --- | --- | --- | --- | --- |');
    for (const l of latency) lines.push(`| ${l.gateway} | ${l.p50.toFixed(2)} | ${l.subgraphPath.toFixed(2)} | ${l.added.toFixed(2)} | ${l.addedP99.toFixed(2)} |`);
  }
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
