import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RegionStores } from '../kernel/objectstore/regions';
import { objectKeyFor } from '../kernel/objectstore/store';
import { signPlaybackGrant } from '../subgraphs/recordings/playback-link';
import { seedRecordings } from '../subgraphs/recordings/seed';
import { createCustomer, registerPbx, serial } from './support/fixtures';
import { startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';
import { contractOperation } from './support/operations';

/**
 * Playing a recording: Recording.playbackUrl and the gateway's
 * GET /api/v1/pbx/recordings/<id>/audio, streaming the CDS copy with Range
 * requests. The recordings get into CDS the way the agent puts them there:
 * activation, a run, files written to the region's store and verified,
 * registered, completed.
 */

const CDS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-playback-test-'));
const CDS_STORES = `*=file:${CDS_DIR}/{region}`;

/** The stack with the playback test's CDS stores (the storage subgraph and the gateway read CDS_STORES at start). */
async function startStackWithPlayback(): Promise<TestStack> {
  process.env.CDS_STORES = CDS_STORES;
  try {
    return await startTestStack();
  } finally {
    delete process.env.CDS_STORES;
  }
}

const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) {
  beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT_ITEMS = `mutation ($pbx: ID!, $id: ID!, $token: String!, $items: [VerifiedItemInput!]!, $recordings: [MigratedRecordingInput!]!) {
  registerRecordings(pbxId: $pbx, migrationId: $id, recordings: $recordings) { registered }
  reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status } }`;
const PLAYABLE = `query ($pbxId: ID!) { pbx(id: $pbxId) { recordings(first: 10) { edges { node { id callId location sha256 sizeBytes playbackUrl } } } } }`;

interface Playable {
  id: string;
  callId: string;
  location: string;
  sha256: string | null;
  sizeBytes: number;
  playbackUrl: string | null;
}

const V = serial(1, 'f7'); // customer play-a, VIRTUAL, migrated: call-wav and call-mp3 in CDS, plus one LOCAL recording
const W = serial(2, 'f7'); // customer play-b, VIRTUAL, nothing migrated
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('playing a recording', () => {
  let stack: TestStack;
  let base: string;
  const files = {
    wav: Buffer.concat([Buffer.from('RIFF\u0000\u0000\u0000\u0000WAVEfmt '), randomBytes(300_000)]),
    mp3: Buffer.concat([Buffer.from('ID3'), randomBytes(70_001)]),
  };
  let wav: Playable;
  let mp3: Playable;
  let local: Playable;

  const play = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(url.startsWith('http') ? url : `${base}${url}`, { method, headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const audioPath = (id: string) => `/api/v1/pbx/recordings/${id}/audio`;
  const bytes = async (response: Response) => Buffer.from(await response.arrayBuffer());

  beforeAll(async () => {
    stack = await startStackWithPlayback();
    base = stack.gatewayUrl.replace(/\/graphql$/, '');
    await createCustomer(stack, 'play-a');
    await createCustomer(stack, 'play-b');
    await registerPbx(stack, { id: V, customerId: 'play-a', kind: 'VIRTUAL' as never, wmsVersion: '6.05.20231120.1' });
    await registerPbx(stack, { id: W, customerId: 'play-b', kind: 'VIRTUAL' as never, wmsVersion: '6.05.20231120.1' });
    await stack.settle();

    // What the agent does: activate, take the run, copy each file into the region's store, report it verified.
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: V }, tokens.pbx(V));
    const inventory = [{ category: 'CALL_RECORDINGS', itemsTotal: 2, bytesTotal: files.wav.length + files.mp3.length }];
    const {
      beginMigrationRun: { runToken },
    } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(BEGIN, { id: migration.id, inventory }, tokens.pbx(V));
    const store = RegionStores.fromConfig(CDS_STORES).forRegion('eu-central-1');
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-playback-pbx-'));
    const items = [];
    const recordings = [];
    for (const [name, data] of Object.entries(files)) {
      const sourcePath = `recordings/2024/05/call-${name}.${name}`;
      fs.writeFileSync(path.join(scratch, `call.${name}`), data);
      const objectKey = objectKeyFor(V, 'CALL_RECORDINGS', sourcePath, sha256(data));
      const stored = await store.putFile(objectKey, path.join(scratch, `call.${name}`));
      expect(stored).toEqual({ sizeBytes: data.length, sha256: sha256(data) });
      items.push({ category: 'CALL_RECORDINGS', sourcePath, objectKey, ...stored });
      recordings.push({
        sourcePath,
        callId: `call-${name}`,
        startedAt: name === 'wav' ? '2024-05-02T10:00:00Z' : '2024-05-01T10:00:00Z',
        durationSeconds: 20,
        caller: '201',
        callee: '+390123',
        objectKey,
        ...stored,
      });
    }
    await stack.ok(REPORT_ITEMS, { pbx: V, id: migration.id, token: runToken, items, recordings }, tokens.pbx(V));
    await stack.ok(COMPLETE, { id: migration.id, token: runToken }, tokens.pbx(V));
    await stack.settle();
    // A call recorded after the migration: on the PBX only.
    await seedRecordings(stack.subgraphs.recordings.runtime.db, V, 1, { now: new Date() });

    const nodes = (
      await stack.ok<{ pbx: { recordings: { edges: { node: Playable }[] } } }>(PLAYABLE, { pbxId: V })
    ).pbx.recordings.edges.map((e) => e.node);
    expect(nodes).toHaveLength(3);
    wav = nodes.find((n) => n.callId === 'call-wav')!;
    mp3 = nodes.find((n) => n.callId === 'call-mp3')!;
    local = nodes.find((n) => n.location === 'LOCAL')!;
    fs.rmSync(scratch, { recursive: true, force: true });
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(CDS_DIR, { recursive: true, force: true });
  });

  it('gives a signed playbackUrl for recordings in CDS, null for LOCAL ones, and none to analysts', async () => {
    expect(wav.location).toBe('CDS_WITH_LOCAL_COPY');
    expect(wav.playbackUrl).toMatch(new RegExp(`^/api/v1/pbx/recordings/${wav.id}/audio\\?pbx=${V}&exp=\\d+&sig=[\\w-]+$`));
    const exp = Number(new URL(wav.playbackUrl!, base).searchParams.get('exp'));
    expect(exp - Date.now() / 1000).toBeGreaterThan(14 * 60);
    expect(exp - Date.now() / 1000).toBeLessThanOrEqual(15 * 60);
    expect(local).toMatchObject({ location: 'LOCAL', playbackUrl: null });
    const analyst = await stack.gql<{ pbx: { recordings: { edges: { node: Playable }[] } } }>(PLAYABLE, { pbxId: V }, tokens.analyst());
    expect(analyst.errors?.length).toBe(3);
    expect(analyst.errors!.every((e) => e.extensions?.code === 'FORBIDDEN' && e.path?.at(-1) === 'playbackUrl')).toBe(true);
  });

  it("streams the whole file from a signed link, without an Authorization header; its checksum is the recording's", async () => {
    const response = await play(wav.playbackUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe(String(files.wav.length));
    expect(response.headers.get('etag')).toBe(`"${wav.sha256}"`);
    const body = await bytes(response);
    expect(sha256(body)).toBe(wav.sha256);
    expect(body.length).toBe(wav.sizeBytes);

    const mp3Response = await play(mp3.playbackUrl!);
    expect(mp3Response.headers.get('content-type')).toBe('audio/mpeg');
    expect(sha256(await bytes(mp3Response))).toBe(mp3.sha256);
  });

  it('streams to a bearer token the subgraphs let see the recording, and refuses the others', async () => {
    for (const token of [tokens.admin(), tokens.partner(['play-a']), tokens.pbx(V)]) {
      const response = await play(audioPath(wav.id), bearer(token));
      expect(response.status).toBe(200);
      expect(sha256(await bytes(response))).toBe(wav.sha256);
    }
    for (const [token, status] of [
      [tokens.partner(['play-b']), 403],
      [tokens.pbx(W), 403],
      [tokens.analyst(), 403],
      ['not-a-jwt', 401],
    ] as const) {
      const response = await play(audioPath(wav.id), bearer(token));
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ type: 'error', reason: expect.any(String) });
    }
    const anonymous = await play(audioPath(wav.id));
    expect(anonymous.status).toBe(401);
  });

  it('answers Range requests with 206 and the exact slice', async () => {
    const size = files.wav.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      ['bytes=250000-99999999', 250000, size - 1],
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await play(wav.playbackUrl!, { range });
      expect(response.status).toBe(206);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(response.headers.get('content-length')).toBe(String(end - start + 1));
      expect(response.headers.get('content-type')).toBe('audio/wav');
      expect((await bytes(response)).equals(files.wav.subarray(start, end + 1))).toBe(true);
    }
    // Several ranges at once, or another unit: the whole file (allowed by RFC 9110).
    for (const range of ['bytes=0-1,5-9', 'items=0-1']) {
      const response = await play(wav.playbackUrl!, { range });
      expect(response.status).toBe(200);
      expect((await bytes(response)).length).toBe(size);
    }
    // A stale If-Range: the whole (current) file.
    const stale = await play(wav.playbackUrl!, { range: 'bytes=0-9', 'if-range': '"0000"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const fresh = await play(wav.playbackUrl!, { range: 'bytes=0-9', 'if-range': `"${wav.sha256}"` });
    expect(fresh.status).toBe(206);
    await fresh.arrayBuffer();
  });

  it('answers 416 to a range outside the file', async () => {
    for (const range of [`bytes=${files.wav.length}-`, `bytes=${files.wav.length + 10}-${files.wav.length + 20}`, 'bytes=-0']) {
      const response = await play(wav.playbackUrl!, { range });
      expect(response.status).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${files.wav.length}`);
      expect(await response.json()).toEqual({ type: 'error', reason: expect.stringContaining('outside') });
    }
  });

  it('answers HEAD with the headers only', async () => {
    const response = await play(wav.playbackUrl!, { range: 'bytes=10-19' }, 'HEAD');
    expect(response.status).toBe(206);
    expect(response.headers.get('content-length')).toBe('10');
    expect((await bytes(response)).length).toBe(0);
  });

  it('refuses a tampered, expired or misapplied signed link with 403', async () => {
    const url = new URL(wav.playbackUrl!, base);
    const tampered = (name: string, value: string) => {
      const copy = new URL(url);
      copy.searchParams.set(name, value);
      return copy.toString();
    };
    const sig = url.searchParams.get('sig')!;
    const cases = [
      tampered('sig', `${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`),
      tampered('exp', String(Number(url.searchParams.get('exp')) + 3600)),
      tampered('pbx', W),
      // The signature of one recording does not play another.
      `${base}${audioPath(mp3.id)}${url.search}`,
      // Signed properly, but long expired.
      `${base}${audioPath(wav.id)}?${signPlaybackGrant(TEST_SECRET, { recordingId: wav.id, pbxId: V, expiresAt: Math.floor(Date.now() / 1000) - 60 })}`,
    ];
    for (const link of cases) {
      const response = await play(link);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ type: 'error', reason: expect.any(String) });
    }
    const expired = await play(cases[4]);
    expect(((await expired.json()) as { reason: string }).reason).toMatch(/expired/);
    // A valid signature naming another PBX: the subgraphs refuse the recording to that PBX's token.
    const otherPbx = await play(
      `${base}${audioPath(wav.id)}?${signPlaybackGrant(TEST_SECRET, { recordingId: wav.id, pbxId: W, expiresAt: Math.floor(Date.now() / 1000) + 60 })}`,
    );
    expect(otherPbx.status).toBe(403);
    expect(((await otherPbx.json()) as { reason: string }).reason).toMatch(/outside what your token may see/);
    // A link without its signature is no credential.
    expect((await play(`${base}${audioPath(wav.id)}?pbx=${V}&exp=${url.searchParams.get('exp')}`)).status).toBe(401);
    const incomplete = await play(`${base}${audioPath(wav.id)}?sig=${sig}`);
    expect(incomplete.status).toBe(403);
  });

  it('answers 409 for a recording only on its PBX, 404 for an unknown one', async () => {
    const response = await play(audioPath(local.id), bearer(tokens.admin()));
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ type: 'error', reason: expect.stringMatching(/only on its PBX \(LOCAL\)/) });
    const unknown = await play(audioPath('00000000-0000-4000-8000-000000000000'), bearer(tokens.admin()));
    expect(unknown.status).toBe(404);
    expect((await play(audioPath(wav.id), bearer(tokens.admin()), 'DELETE')).status).toBe(405);
  });
});
