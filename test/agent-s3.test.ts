import { mkdtemp, rm } from 'node:fs/promises';
import { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { generateSampleTree, writeLargeFile } from '../agent/sample-tree';
import { S3Store } from '../kernel/objectstore/s3-store';
import { AgentStack, cdsObjects, pbxView, registerAgentPbx, runAgent, sha256, startAgent, startAgentStack, waitFor } from './agent-harness';

/**
 * The agent against an S3-compatible store (s3rver on loopback): presigned
 * PUTs for small files, a presigned multipart upload (created and completed
 * by CDS) for a large one, SIGKILL mid-run and resume, reports that CDS
 * answers before it has read their objects back; and a run that rides out a
 * restart of the gateway and of the storage subgraph.
 */
jest.setTimeout(240_000);

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
// s3rver ships no type declarations; the shape above is the part used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('@20minutes/s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

let s: AgentStack;
let s3rver: S3rverInstance;
let tmp: string;
let store: S3Store;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cds-agent-s3-'));
  s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(tmp, 's3rver'),
    configureBuckets: [{ name: 'cds-euc1' }],
  });
  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  s = await startAgentStack({
    CDS_STORES: `eu-central-1=s3://cds-euc1/objects?endpoint=${endpoint}&forcePathStyle=true&accessKeyId=${CREDENTIALS.accessKeyId}&secretAccessKey=${CREDENTIALS.secretAccessKey}`,
    UPLOAD_MULTIPART_MIN_BYTES: String(6 * 1024 * 1024),
    MIGRATION_LEASE_SECONDS: '3',
    // Reports never wait for CDS to read objects back: every store read outlasts the report, the agent
    // sends the report again until CDS has read everything, and the run keeps its 3-second lease meanwhile.
    CDS_STORE_WAIT_MS: '1',
  });
  store = new S3Store({
    bucket: 'cds-euc1',
    prefix: 'objects',
    endpoint,
    region: 'eu-central-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
  });
});
afterAll(async () => {
  await store?.close();
  await s?.stop();
  await s3rver?.close();
  await rm(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes a server off its port for `ms`, dropping its connections, then listens again: a restart as the agent sees it. */
async function outage(server: Server, port: number, ms: number): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sleep(ms);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
}

describe('S3 store', () => {
  it('killed mid-run and started again: completes over presigned PUTs and a multipart upload; every object verified by CDS', async () => {
    const pbxId = 'c30000000001';
    await registerAgentPbx(s, pbxId, 'VIRTUAL');
    const dir = path.join(tmp, 'tree');
    const tree = await generateSampleTree(dir, {
      recordings: 150,
      recordingBytes: { min: 2_000, max: 6_000 },
      backups: { count: 1, bytes: 50_000 },
    });
    await writeLargeFile(path.join(dir, 'backups', 'big.tar'), 13 * 1024 * 1024);
    const total = tree.recordings.length + tree.backups.length + 1;

    const first = startAgent(s, pbxId, dir, { extra: ['--batch-size', '50'] });
    await waitFor('the first progress report', async () => ((await pbxView(s, pbxId)).currentMigration?.itemsDone ?? 0) > 0, 60_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;

    const second = await runAgent(s, pbxId, dir);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    // The first report (new objects, read back by CDS) is always answered before CDS read them all.
    expect(killed.stdout).toMatch(/Waiting: CDS is reading .* back from its store to verify/);
    const view = await pbxView(s, pbxId);
    expect(view.cds.state).toBe('ACTIVE');
    expect(view.migrations[0]).toMatchObject({ status: 'COMPLETED', itemsDone: total, itemsTotal: total });
    const objects = await cdsObjects(s, pbxId);
    expect(objects).toHaveLength(total);
    for (const o of objects) {
      expect(o.objectKey.startsWith(`${pbxId}/`)).toBe(true);
      expect(o.sha256).toBe(sha256(path.join(dir, o.sourcePath)));
      expect(await store.verify(o.objectKey, o)).toBe(true);
    }
  });
});

describe('transient trouble', () => {
  it('rides out a 3-second restart of the gateway and of the storage subgraph, saying it waits, and completes', async () => {
    const pbxId = 'c30000000002';
    await registerAgentPbx(s, pbxId, 'HARDWARE');
    const dir = path.join(tmp, 'outage');
    const tree = await generateSampleTree(dir, { recordings: 300, recordingBytes: { min: 2_000, max: 4_000 } });
    const agent = startAgent(s, pbxId, dir, { extra: ['--batch-size', '40', '--retry-for', '60'] });
    await waitFor('the first progress report', async () => ((await pbxView(s, pbxId)).currentMigration?.itemsDone ?? 0) > 0, 60_000);
    await outage(s.stack.gateway.http.server, s.stack.gateway.http.port, 3000);
    await outage(s.stack.subgraphs.storage.http.server, s.stack.subgraphs.storage.http.port, 3000);
    const run = await agent.done;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Waiting: .*retrying until/);
    expect(run.stdout).toMatch(/Reached the gateway again/);
    const view = await pbxView(s, pbxId);
    expect(view.migrations[0]).toMatchObject({ status: 'COMPLETED', itemsDone: tree.recordings.length });
  });
});
