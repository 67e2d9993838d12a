import 'reflect-metadata';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSampleTree, SampleTree } from '../agent/sample-tree';
import { signToken } from '../kernel/identity';
import { startStack, Stack } from '../dev/stack';
import { testConfig } from '../kernel/config';

/**
 * The CDS agent (over upload grants, every object verified by CDS) against
 * the tools a user would otherwise reach for (issue 9), in one run:
 *
 *   node -r @swc-node/register bench/agent.ts [--recordings 10000] [--backups 3] [--backup-mb 1024] [--out bench/RESULTS-agent.md]
 *
 * - directory store: `cp -r` + `sync` into a directory, against the agent
 *   into the stack's directory store (bytes through the gateway's upload
 *   endpoint, fsynced, verified by the storage subgraph reading them back);
 * - S3: `rclone copy` (Debian's rclone) into s3rver on loopback, against the
 *   agent into the same s3rver (presigned PUTs and multipart uploads, each
 *   object verified by the storage subgraph).
 * s3rver runs in a process of its own so it does not share the stack's
 * event loop. Rounds alternate between the compared tools. The stack runs
 * in-process on SQLite files (the embedded database of `npm start`).
 */

const PROJECT = path.resolve(__dirname, '..');
const SECRET = 'bench-agent-secret';
const PORT_S3 = 5170;

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const outArg = process.argv.indexOf('--out');
const OUT = path.resolve(PROJECT, outArg > 0 ? process.argv[outArg + 1] : 'bench/RESULTS-agent.md');
const RECORDINGS = option('recordings', 10_000);
const BACKUPS = option('backups', 3);
const BACKUP_BYTES = option('backup-mb', 1024) * 1024 * 1024;
const storesArg = process.argv.indexOf('--stores');
/** `--stores directory` or `--stores s3` measures one kind of store only (quicker, while tuning); both by default. */
const STORES = new Set((storesArg > 0 ? process.argv[storesArg + 1] : 'directory,s3').split(','));

const now = () => performance.now() / 1000;
const sync = () => execFileSync('sync');
const token = (pbxId: string) => signToken(SECRET, { sub: `pbx:${pbxId}`, role: 'pbx', pbx: pbxId });

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  sync();
  const t0 = now();
  const result = await work();
  return { seconds: now() - t0, result };
}

async function gql(stack: Stack, query: string, variables: Record<string, unknown>) {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${signToken(SECRET, { sub: 'bench', role: 'admin' })}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

function startS3rver(dir: string): Promise<ChildProcess> {
  const script = `const S3rver = require('@20minutes/s3rver');
    new S3rver({ address: '127.0.0.1', port: ${PORT_S3}, silent: true, directory: ${JSON.stringify(dir)}, configureBuckets: [{ name: 'cds' }, { name: 'rclone' }] })
      .run().then(() => console.log('ready'));`;
  const child = spawn(process.execPath, ['-e', script], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout!.once('data', () => resolve(child)));
}

interface Row {
  tree: string;
  store: string;
  tool: string;
  seconds: number;
  note: string;
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cds-agent-bench-'));
  const endpoint = `http://127.0.0.1:${PORT_S3}`;
  process.env.CDS_STORES = `eu-central-1=file:${tmp}/cds/eu-central-1,eu-west-1=s3://cds?endpoint=${endpoint}&forcePathStyle=true&accessKeyId=S3RVER&secretAccessKey=S3RVER`;
  const s3rver = await startS3rver(path.join(tmp, 's3rver'));
  let stack: Stack | null = null;
  const rows: Row[] = [];
  try {
    // The rate limit is not what this measures (the agent's report rate is).
    stack = await startStack({
      config: testConfig({ RATE_LIMIT_PER_MINUTE: '10000000', RATE_LIMIT_BURST: '10000000' }),
      db: { kind: 'sqlite', dir: path.join(tmp, 'db') },
      jwtSecret: SECRET,
      gatewayPort: 0,
    });
    await gql(stack, `mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }`, {
      input: { id: 'bench', name: 'Bench' },
    });
    let serial = 0;
    const newPbx = async (region: string) => {
      const id = `22b0000000${(++serial).toString(16).padStart(2, '0')}`;
      await gql(stack!, `mutation($input: RegisterPbxInput!) { registerPbx(input: $input) { pbx { id } } }`, {
        input: {
          id,
          name: `bench-${id}.wildixin.com`,
          kind: 'VIRTUAL',
          wmsVersion: '6.05.20240301.1',
          region,
          customerId: 'bench',
          networkId: null,
        },
      });
      await stack!.settle();
      return id;
    };
    // rclone reads AWS_CA_BUNDLE and then refuses a plain-http endpoint; loopback needs no CA.
    const { AWS_CA_BUNDLE: _ca, ...baseEnv } = process.env;
    const rcloneEnv = {
      ...baseEnv,
      RCLONE_CONFIG_S3_TYPE: 's3',
      RCLONE_CONFIG_S3_PROVIDER: 'Other',
      RCLONE_CONFIG_S3_ACCESS_KEY_ID: 'S3RVER',
      RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: 'S3RVER',
      RCLONE_CONFIG_S3_ENDPOINT: endpoint,
      RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_S3_REGION: 'eu-west-1',
    };
    const rcloneVersion = execFileSync('rclone', ['version']).toString().split('\n')[0];

    console.log(`generating ${RECORDINGS} recordings and ${BACKUPS} backups of ${BACKUP_BYTES / 2 ** 20} MiB in ${tmp} ...`);
    const trees: [string, SampleTree][] = [
      ['small', await generateSampleTree(path.join(tmp, 'small'), { recordings: RECORDINGS })],
      ['large', await generateSampleTree(path.join(tmp, 'large'), { recordings: 0, backups: { count: BACKUPS, bytes: BACKUP_BYTES } })],
    ];
    trees.splice(0, trees.length, ...trees.filter(([, tree]) => tree.recordings.length + tree.backups.length > 0));
    for (const [name, tree] of trees) {
      const files = tree.recordings.length + tree.backups.length;
      const bytes = tree.recordings.reduce((n, r) => n + r.sizeBytes, 0) + tree.backups.reduce((n, b) => n + b.sizeBytes, 0);
      const agent = async (region: string, label: string) => {
        const pbxId = await newPbx(region);
        const { seconds, result } = await timed(() =>
          run(
            process.execPath,
            ['-r', '@swc-node/register', 'agent/cli.ts', '--pbx', pbxId, '--source', tree.root, '--gateway', stack!.gatewayUrl],
            { ...process.env, CDS_TOKEN: token(pbxId) },
          ),
        );
        if (result.code !== 0) throw new Error(`agent ${label} ${name}: ${result.stderr}`);
        const data = (await gql(
          stack!,
          `query($id: ID!) { pbx(id: $id) { cds { state } migrations { status itemsDone } recordings(first: 1) { totalCount } } }`,
          { id: pbxId },
        )) as { pbx: { cds: { state: string }; migrations: { status: string; itemsDone: number }[]; recordings: { totalCount: number } } };
        const m = data.pbx.migrations[0];
        if (m.status !== 'COMPLETED' || m.itemsDone !== files) throw new Error(`${name}: ${m.status} ${m.itemsDone}/${files}`);
        rows.push({
          tree: name,
          store: label,
          tool: 'agent',
          seconds,
          note: `COMPLETED ${m.itemsDone}/${files}, ${data.pbx.recordings.totalCount} recordings registered`,
        });
        console.log(`${name} ${label} agent ${seconds.toFixed(2)} s`);
        return pbxId;
      };
      // Directory store: cp -r + sync, then the agent.
      if (STORES.has('directory')) {
        const copy = path.join(tmp, 'cp-copy');
        const cp = await timed(async () => {
          execFileSync('cp', ['-r', tree.root, copy]);
          sync();
        });
        rows.push({ tree: name, store: 'directory', tool: '`cp -r` + `sync`', seconds: cp.seconds, note: 'no checksum' });
        console.log(`${name} cp ${cp.seconds.toFixed(2)} s`);
        rmSync(copy, { recursive: true, force: true });
        const dirPbx = await agent('eu-central-1', 'directory');
        // The store's copy goes as soon as it is measured: the disk holds one tree and one copy at a time.
        rmSync(path.join(tmp, 'cds', 'eu-central-1', dirPbx), { recursive: true, force: true });
      }
      // S3 (s3rver): rclone, then the agent.
      if (STORES.has('s3')) {
        const rc = await timed(() =>
          run(
            'rclone',
            ['copy', tree.root, `s3:rclone/${name}`, '--transfers', '16', '--checkers', '16', '--exclude', '.cds-agent/**'],
            rcloneEnv,
          ),
        );
        if (rc.result.code !== 0) throw new Error(`rclone: ${rc.result.stderr}`);
        rows.push({
          tree: name,
          store: 'S3 (s3rver)',
          tool: 'rclone copy',
          seconds: rc.seconds,
          note: 'MD5 of each upload checked against the ETag',
        });
        console.log(`${name} rclone ${rc.seconds.toFixed(2)} s`);
        await agent('eu-west-1', 'S3 (s3rver)');
      }
      (rows as (Row & { bytes?: number; files?: number })[])
        .filter((r) => r.tree === name)
        .forEach((r) => Object.assign(r, { bytes, files }));
      rmSync(tree.root, { recursive: true, force: true });
    }

    const [load1, load5] = os.loadavg();
    const perSecond = (r: Row & { bytes?: number; files?: number }) =>
      r.tree === 'small' ? `${((r.files ?? 0) / r.seconds).toFixed(0)} files/s` : `${((r.bytes ?? 0) / 1e6 / r.seconds).toFixed(0)} MB/s`;
    const lines = [
      '# CDS agent benchmark',
      '',
      'Command (from the project root; it starts its own stack and s3rver, and deletes its trees and copies as it goes):',
      '',
      '```',
      `node -r @swc-node/register bench/agent.ts ${process.argv.slice(2).join(' ')}`.trim(),
      '```',
      '',
      `Run ${new Date().toISOString()}, one round per tool, in this order per tree: \`cp -r\` + \`sync\`, agent (directory store), rclone, agent (S3). ` +
        `${rcloneVersion} (Debian package; \`apt-get install -y rclone\`), \`--transfers 16 --checkers 16\`. s3rver (@20minutes/s3rver) on 127.0.0.1:${PORT_S3} in its own process, ` +
        'the stack in-process on SQLite files, the agent as a child process exactly as `npm run cds-agent` starts it (TypeScript compiled at startup, included).',
      '',
      `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, working directory ${os.tmpdir()}; load average ${loadBefore[0].toFixed(2)} / ${loadBefore[1].toFixed(2)} (1 / 5 min) before the run, ${load1.toFixed(2)} / ${load5.toFixed(2)} after. One round each.`,
      '',
      '| tree | store | tool | time | throughput | |',
      '| --- | --- | --- | ---: | ---: | --- |',
      ...rows.map((r) => `| ${r.tree} | ${r.store} | ${r.tool} | ${r.seconds.toFixed(2)} s | ${perSecond(r)} | ${r.note} |`),
      '',
      `Trees: small = ${RECORDINGS.toLocaleString('en-US')} recordings of 8-40 kB with sidecars; large = ${BACKUPS} backups of ${BACKUP_BYTES / 2 ** 20} MiB.`,
      '',
      'What the agent does that the others do not: activation, hashing every file (SHA-256) before asking for grants, registering every recording, ' +
        'and the storage subgraph verifying every stored object (size and SHA-256) before it counts: in the directory store by the signed store receipt of the upload endpoint, which hashed the bytes as they arrived, and a stat finding the same file version; ' +
        'in s3rver, which keeps no SHA-256 of its own, by reading every object back; ' +
        'the directory store fsyncs each object and its directory. The stack, s3rver, the agent and the other tool share the same 2 cores.',
      '',
    ];
    writeFileSync(OUT, lines.join('\n'));
    console.log(readFileSync(OUT, 'utf8'));
  } finally {
    await stack?.stop().catch(() => undefined);
    s3rver.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
