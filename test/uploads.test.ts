import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { signUploadGrant, UPLOAD_PATH } from '../kernel/objectstore/grants';
import { objectKeyFor } from '../kernel/objectstore/store';
import { generateSampleTree } from '../agent/sample-tree';
import { AgentStack, registerAgentPbx, runAgent, startAgentStack, pbxView } from './agent-harness';
import { TEST_SECRET, tokens } from './support/harness';

/**
 * The data path as an attacker would try it (issue 9): forged keys, other
 * PBXs' serials, wrong sizes and checksums, expired and reused grants,
 * oversized uploads, tampered objects at playback. Each gets a clear error
 * and changes nothing; only what CDS verified counts.
 */
jest.setTimeout(120_000);

let s: AgentStack;
const A = 'b90000000001';
const B = 'b90000000002';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  s = await startAgentStack();
  await registerAgentPbx(s, A, 'VIRTUAL');
  await registerAgentPbx(s, B, 'VIRTUAL');
});
afterAll(async () => {
  await s?.stop();
});

const GRANTS = `mutation($m: ID!, $t: String!, $items: [UploadRequestInput!]!) {
  requestUploadGrants(migrationId: $m, runToken: $t, items: $items) { objectKey sizeBytes sha256 transport token url expiresAt }
}`;
const REPORT = `mutation($m: ID!, $t: String!, $items: [VerifiedItemInput!]!) {
  reportMigrationProgress(migrationId: $m, runToken: $t, items: $items) { itemsDone }
}`;

async function beginRun(pbxId: string): Promise<{ migrationId: string; runToken: string }> {
  const token = tokens.pbx(pbxId);
  const activated = await s.stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(
    `mutation($id: ID!) { activateCompanyDataStorage(pbxId: $id) { migration { id } } }`,
    { id: pbxId },
    token,
  );
  const migrationId = activated.activateCompanyDataStorage.migration.id;
  const run = await s.stack.ok<{ beginMigrationRun: { runToken: string } }>(
    `mutation($m: ID!) { beginMigrationRun(migrationId: $m, inventory: [{ category: BACKUPS, itemsTotal: 3, bytesTotal: 3000 }]) { runToken } }`,
    { m: migrationId },
    token,
  );
  return { migrationId, runToken: run.beginMigrationRun.runToken };
}

/** The upload endpoint's body: u32 manifest length, manifest, each object's bytes. */
function uploadBody(grants: string[], parts: Buffer[]): Buffer {
  const manifest = Buffer.from(JSON.stringify({ grants }));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(manifest.length, 0);
  return Buffer.concat([head, manifest, ...parts]);
}

async function upload(token: string, grants: string[], parts: Buffer[], extra: Buffer = Buffer.alloc(0)) {
  const body = Buffer.concat([uploadBody(grants, parts), extra]);
  const response = await fetch(new URL(UPLOAD_PATH, s.stack.gatewayUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as { results?: { objectKey: string; status: string; receipt?: string }[]; reason?: string },
  };
}

const storeFile = (key: string) => path.join(s.storeRoot(), ...key.split('/'));

describe('upload grants and the upload endpoint', () => {
  let run: { migrationId: string; runToken: string };
  const data = randomBytes(1000);
  const item = { category: 'BACKUPS', sourcePath: 'backups/a.bak', sizeBytes: 1000, sha256: sha(data) };

  beforeAll(async () => {
    run = await beginRun(A);
  });

  it("CDS chooses the key (under the PBX's prefix, from the item); the grant stores exactly the declared bytes once", async () => {
    const granted = await s.stack.ok<{ requestUploadGrants: { objectKey: string; token: string; transport: string; url: string }[] }>(
      GRANTS,
      { m: run.migrationId, t: run.runToken, items: [item] },
      tokens.pbx(A),
    );
    const grant = granted.requestUploadGrants[0];
    expect(grant.objectKey).toBe(objectKeyFor(A, 'BACKUPS', item.sourcePath, item.sha256));
    expect(grant).toMatchObject({ transport: 'CDS_GATEWAY', url: UPLOAD_PATH });

    // Wrong bytes of the right size: refused, nothing stored.
    const wrong = await upload(tokens.pbx(A), [grant.token], [randomBytes(1000)]);
    expect(wrong.status).toBe(400);
    expect(wrong.body.results?.[0].status).toBe('MISMATCH');
    expect(existsSync(storeFile(grant.objectKey))).toBe(false);
    // Oversized: more bytes than the grants declare, refused before anything is read.
    const big = await upload(tokens.pbx(A), [grant.token], [data], randomBytes(10));
    expect(big.status).toBe(413);
    // Short: fewer bytes than declared.
    const short = await upload(tokens.pbx(A), [grant.token], [data.subarray(0, 900)]);
    expect(short.status).toBe(400);
    expect(existsSync(storeFile(grant.objectKey))).toBe(false);

    // Another PBX's token cannot use the grant; no token at all is 401.
    expect((await upload(tokens.pbx(B), [grant.token], [data])).status).toBe(403);
    expect(
      (await fetch(new URL(UPLOAD_PATH, s.stack.gatewayUrl), { method: 'POST', body: uploadBody([grant.token], [data]) })).status,
    ).toBe(401);
    // A grant whose claims were changed (another key, a bigger size) fails its signature.
    const [body, sig] = grant.token.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, key: `${B}/BACKUPS/x/y` })).toString('base64url')}.${sig}`;
    expect((await upload(tokens.pbx(A), [forged], [data])).status).toBe(403);

    // The right bytes: stored; the same grant again: REUSED (single use).
    const ok = await upload(tokens.pbx(A), [grant.token], [data]);
    expect(ok.status).toBe(200);
    expect(ok.body.results).toEqual([{ objectKey: grant.objectKey, status: 'STORED', receipt: expect.any(String) }]);
    expect(readFileSync(storeFile(grant.objectKey))).toEqual(data);
    const again = await upload(tokens.pbx(A), [grant.token], [data]);
    expect(again.status).toBe(409);
    expect(again.body.results?.[0].status).toBe('REUSED');

    // An expired grant (signed with the right secret, expiry past): refused, nothing stored.
    const expiredToken = signUploadGrant(TEST_SECRET, {
      ...(claims as never as Parameters<typeof signUploadGrant>[1]),
      id: 'x-expired',
      key: objectKeyFor(A, 'BACKUPS', 'backups/e.bak', sha(data)),
      expiresAt: Math.floor(Date.now() / 1000) - 5,
    });
    const expired = await upload(tokens.pbx(A), [expiredToken], [data]);
    expect(expired.status).toBe(403);
    expect(expired.body.results?.[0].status).toBe('EXPIRED');
    expect(existsSync(storeFile(objectKeyFor(A, 'BACKUPS', 'backups/e.bak', sha(data))))).toBe(false);
  });

  it("grants are refused for another PBX's migration, categories that stay, and malformed declarations", async () => {
    const other = await s.stack.gql(GRANTS, { m: run.migrationId, t: run.runToken, items: [item] }, tokens.pbx(B));
    expect(other.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    for (const bad of [
      { ...item, category: 'VOICEMAILS' },
      { ...item, sourcePath: '../etc/passwd' },
      { ...item, sha256: 'xyz' },
      { ...item, sizeBytes: -1 },
    ]) {
      const refused = await s.stack.gql(GRANTS, { m: run.migrationId, t: run.runToken, items: [bad] }, tokens.pbx(A));
      expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    const wrongRun = await s.stack.gql(GRANTS, { m: run.migrationId, t: 'not-the-run', items: [item] }, tokens.pbx(A));
    expect(wrongRun.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('a report counts only what CDS verified: forged keys, missing objects and wrong checksums count nothing', async () => {
    const report = (items: unknown[]) =>
      s.stack.gql<{ reportMigrationProgress: { itemsDone: number } }>(
        REPORT,
        { m: run.migrationId, t: run.runToken, items },
        tokens.pbx(A),
      );
    const key = objectKeyFor(A, 'BACKUPS', item.sourcePath, item.sha256);
    // Another PBX's object, or any key CDS did not give: BAD_USER_INPUT.
    const forged = await report([{ ...item, objectKey: `${B}/BACKUPS/${item.sourcePath}` }]);
    expect(forged.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(forged.errors?.[0].message).toMatch(/CDS chooses object keys/);
    // A key CDS would give, but no object was ever uploaded: CONFLICT.
    const missing = { ...item, sourcePath: 'backups/never.bak', objectKey: objectKeyFor(A, 'BACKUPS', 'backups/never.bak', item.sha256) };
    const none = await report([missing]);
    expect(none.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(none.errors?.[0].message).toMatch(/backups\/never\.bak is not in CDS/);
    // The stored object, tampered with: CONFLICT, and CDS removes the wrong object.
    const original = readFileSync(storeFile(key));
    const tampered = Buffer.from(original);
    tampered[10] ^= 0xff;
    writeFileSync(storeFile(key), tampered);
    const wrong = await report([{ ...item, objectKey: key }]);
    expect(wrong.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(existsSync(storeFile(key))).toBe(false);
    // A mixed report counts nothing at all.
    writeFileSync(storeFile(key), original);
    const mixed = await report([{ ...item, objectKey: key }, missing]);
    expect(mixed.errors?.[0].extensions?.code).toBe('CONFLICT');
    const view = await pbxView(s, A);
    expect(view.currentMigration?.itemsDone).toBe(0);
    // The verified one alone counts.
    const good = await report([{ ...item, objectKey: key }]);
    expect(good.errors).toBeUndefined();
    expect(good.data?.reportMigrationProgress.itemsDone).toBe(1);
  });

  it('a store receipt stands in for reading the object back only while the file is the very one the endpoint placed', async () => {
    const other = await beginRun(B);
    const verifications = async (by: string) => {
      const text = await (await fetch(new URL('/metrics', s.stack.subgraphs.storage.url))).text();
      const line = text.split('\n').find((l) => l.startsWith('cds_object_verifications_total{') && l.includes(`by="${by}"`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const put = async (sourcePath: string, bytes: Buffer) => {
      const declared = { category: 'BACKUPS', sourcePath, sizeBytes: bytes.length, sha256: sha(bytes) };
      const granted = await s.stack.ok<{ requestUploadGrants: { objectKey: string; token: string }[] }>(
        GRANTS,
        { m: other.migrationId, t: other.runToken, items: [declared] },
        tokens.pbx(B),
      );
      const grant = granted.requestUploadGrants[0];
      const stored = await upload(tokens.pbx(B), [grant.token], [bytes]);
      expect(stored.body.results?.[0]).toMatchObject({ status: 'STORED', receipt: expect.any(String) });
      return { ...declared, objectKey: grant.objectKey, receipt: stored.body.results![0].receipt! };
    };
    const report = (items: unknown[]) => s.stack.gql(REPORT, { m: other.migrationId, t: other.runToken, items }, tokens.pbx(B));
    const [one, two, three] = await Promise.all(['r1', 'r2', 'r3'].map((n) => put(`backups/${n}.bak`, randomBytes(3000))));

    // Rewritten after it was placed (same size, other bytes): the receipt no longer names the file, CDS reads it and refuses.
    writeFileSync(storeFile(one.objectKey), randomBytes(3000));
    const rewritten = await report([one]);
    expect(rewritten.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(existsSync(storeFile(one.objectKey))).toBe(false);
    // A receipt of another object, or one whose claims were changed, is not taken either: the object is read.
    writeFileSync(storeFile(two.objectKey), randomBytes(3000));
    const borrowed = await report([{ ...two, receipt: three.receipt }]);
    expect(borrowed.errors?.[0].extensions?.code).toBe('CONFLICT');
    const [body, sig] = three.receipt.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, version: 'x' })).toString('base64url')}.${sig}`;
    const readBefore = await verifications('store');
    const byReceiptBefore = await verifications('receipt');
    expect((await report([{ ...three, receipt: forged }])).errors).toBeUndefined();
    expect(await verifications('store')).toBe(readBefore + 1);
    expect(await verifications('receipt')).toBe(byReceiptBefore);
    // The genuine receipt of an untouched object: verified without reading it.
    const fresh = await put('backups/r4.bak', randomBytes(3000));
    expect((await report([fresh])).errors).toBeUndefined();
    expect(await verifications('receipt')).toBe(byReceiptBefore + 1);
    expect(await verifications('store')).toBe(readBefore + 1);
  });

  it("recordings can only point at their own file's object; playback never serves bytes that no longer match", async () => {
    const forged = await s.stack.gql(
      `mutation($p: ID!, $m: ID, $r: [MigratedRecordingInput!]!) { registerRecordings(pbxId: $p, migrationId: $m, recordings: $r) { registered } }`,
      {
        p: A,
        m: run.migrationId,
        r: [
          {
            sourcePath: 'recordings/x.wav',
            startedAt: '2024-01-01T00:00:00Z',
            durationSeconds: 1,
            sizeBytes: 1000,
            sha256: item.sha256,
            objectKey: `${B}/CALL_RECORDINGS/recordings/x.wav`,
          },
        ],
      },
      tokens.pbx(A),
    );
    expect(forged.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the agent over the upload path, playback of tampered objects', () => {
  it('migrates, then a recording whose CDS bytes were changed is not served (409), and --purge keeps its local copy', async () => {
    const pbxId = 'b90000000003';
    await registerAgentPbx(s, pbxId, 'HARDWARE');
    const dir = path.join(s.tmp, 'tamper');
    await generateSampleTree(dir, { recordings: 5 });
    const run = await runAgent(s, pbxId, dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const page = await s.stack.ok<{ pbx: { recordings: { edges: { node: { id: string; objectKey: string; sourcePath: string } }[] } } }>(
      `query($id: ID!) { pbx(id: $id) { recordings(first: 10) { edges { node { id objectKey sourcePath } } } } }`,
      { id: pbxId },
    );
    const [first, second] = page.pbx.recordings.edges.map((e) => e.node);
    const audio = (id: string) =>
      fetch(new URL(`/api/v1/pbx/recordings/${id}/audio`, s.stack.gatewayUrl), {
        headers: { authorization: `Bearer ${tokens.pbx(pbxId)}` },
      });
    expect((await audio(second.id)).status).toBe(200);
    const file = storeFile(first.objectKey);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    const refused = await audio(first.id);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toMatch(/no longer matches its recorded SHA-256/);
  });
});
