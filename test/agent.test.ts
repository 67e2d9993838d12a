import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { objectKeyFor } from '../kernel/objectstore/store';
import path from 'node:path';
import { In } from 'typeorm';
import { generateSampleTree, SampleTree } from '../agent/sample-tree';
import { Recording } from '../subgraphs/recordings/entities/recording';
import { tokens } from './support/harness';
import { RecordingNode, contractOperation } from './support/operations';
import {
  AgentStack,
  cdsObjects,
  fingerprint,
  listFiles,
  pbxView,
  REGION,
  registerAgentPbx,
  runAgent,
  sha256,
  startAgentStack,
} from './agent-harness';

/**
 * The CDS agent (contract README "The activation script") end to end: the
 * real CLI as a child process against the whole stack, a file store in a
 * temp dir. Faults (SIGKILL, unreadable file, bad copies, two agents) are in
 * agent-faults.test.ts.
 */
jest.setTimeout(180_000);

const VM = 'a70000000001';
const CLOUD = 'a70000000002';
const CLOUD_OLD = 'a70000000003';
const DAY = 24 * 3600 * 1000;

let s: AgentStack;
beforeAll(async () => {
  s = await startAgentStack();
});
afterAll(async () => {
  await s?.stop();
});

async function allRecordings(pbxId: string): Promise<{ totalCount: number; nodes: RecordingNode[] }> {
  const nodes: RecordingNode[] = [];
  let after: string | null = null;
  for (;;) {
    const data: {
      pbx: { recordings: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: RecordingNode }[] } };
    } = await s.stack.ok(contractOperation('Recordings.graphql', 'Recordings'), { pbxId, first: 500, after }, tokens.pbx(pbxId));
    const totalCount = data.pbx.recordings.totalCount;
    nodes.push(...data.pbx.recordings.edges.map((e) => e.node));
    if (!data.pbx.recordings.pageInfo.hasNextPage) return { totalCount, nodes };
    after = data.pbx.recordings.pageInfo.endCursor;
  }
}

describe('a VIRTUAL PBX: the agent activates CDS and migrates', () => {
  let tree: SampleTree;
  let dir: string;
  let before: Map<string, string>;

  beforeAll(async () => {
    await registerAgentPbx(s, VM, 'VIRTUAL');
    dir = path.join(s.tmp, 'vm');
    tree = await generateSampleTree(dir, {
      recordings: 150,
      backups: { count: 3, bytes: 300_000 },
      voicemails: 7,
      faxes: 4,
      recordingsPerFolder: 40,
    });
    before = fingerprint(dir);
  });

  it('exits 0 with the migration COMPLETED and CDS ACTIVE', async () => {
    const run = await runAgent(s, VM, dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/COMPLETED: CDS is ACTIVE for PBX a70000000001/);
    // Not a terminal: plain progress lines, no carriage returns.
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).toMatch(/100\.0%\s+153\/153 items/);
  });

  it('shows ACTIVE, the migration COMPLETED at 100% and usage per category in PbxDetails', async () => {
    await s.stack.settle();
    const { pbx } = await s.stack.ok<{
      pbx: {
        cds: {
          state: string;
          region: string;
          activatedAt: string;
          usedBytes: number;
          usageByCategory: { category: string; usedBytes: number; itemCount: number }[];
        };
        migrations: {
          status: string;
          trigger: string;
          percent: number;
          itemsTotal: number;
          itemsDone: number;
          bytesTotal: number;
          bytesDone: number;
          error: string | null;
          finishedAt: string;
          categories: { category: string; state: string; itemsTotal: number; itemsDone: number; bytesTotal: number; bytesDone: number }[];
        }[];
      };
    }>(contractOperation('PbxDetails.graphql', 'PbxDetails'), { pbxId: VM });
    const recordingBytes = tree.recordings.reduce((n, r) => n + r.sizeBytes, 0);
    const backupBytes = tree.backups.reduce((n, b) => n + b.sizeBytes, 0);
    expect(pbx.cds).toMatchObject({ state: 'ACTIVE', region: REGION, usedBytes: recordingBytes + backupBytes });
    const usage = Object.fromEntries(pbx.cds.usageByCategory.map((u) => [u.category, u]));
    expect(usage.CALL_RECORDINGS).toMatchObject({ usedBytes: recordingBytes, itemCount: 150 });
    expect(usage.BACKUPS).toMatchObject({ usedBytes: backupBytes, itemCount: 3 });
    expect(pbx.migrations).toHaveLength(1);
    const [m] = pbx.migrations;
    expect(m).toMatchObject({
      status: 'COMPLETED',
      trigger: 'ADMIN_SCRIPT',
      percent: 100,
      itemsTotal: 153,
      itemsDone: 153,
      bytesTotal: recordingBytes + backupBytes,
      bytesDone: recordingBytes + backupBytes,
      error: null,
    });
    const categories = Object.fromEntries(m.categories.map((c) => [c.category, c]));
    expect(categories.CALL_RECORDINGS).toMatchObject({
      state: 'COMPLETED',
      itemsTotal: 150,
      itemsDone: 150,
      bytesTotal: recordingBytes,
      bytesDone: recordingBytes,
    });
    expect(categories.BACKUPS).toMatchObject({ state: 'COMPLETED', itemsTotal: 3, itemsDone: 3, bytesTotal: backupBytes });
    expect(categories.VOICEMAILS).toMatchObject({ state: 'NOT_SUPPORTED_YET', itemsTotal: 7, bytesTotal: tree.voicemails.bytes });
    expect(categories.FAXES).toMatchObject({ state: 'NOT_SUPPORTED_YET', itemsTotal: 4, bytesTotal: tree.faxes.bytes });
  });

  it('registers every recording with its sidecar metadata, CDS_WITH_LOCAL_COPY for 7 days', async () => {
    const view = await pbxView(s, VM);
    const finishedAt = Date.parse(view.migrations[0].finishedAt!);
    const { totalCount, nodes } = await allRecordings(VM);
    expect(totalCount).toBe(150);
    const byStart = new Map(nodes.map((n) => [n.startedAt, n]));
    for (const r of tree.recordings) {
      const node = byStart.get(r.mtime.toISOString())!;
      if (!node) throw new Error(`${r.sourcePath} ${r.mtime.toISOString()} not in ${[...byStart.keys()].slice(0, 5)}`);
      expect(node.location).toBe('CDS_WITH_LOCAL_COPY');
      expect(Math.abs(Date.parse(node.localCopyExpiresAt!) - (finishedAt + 7 * DAY))).toBeLessThan(5000);
      expect(node.sizeBytes).toBe(r.sizeBytes);
      expect(node.sha256).toBe(sha256(path.join(dir, r.sourcePath)));
      if (r.sidecar) {
        expect(node).toMatchObject({
          callId: r.sidecar.callId,
          startedAt: r.sidecar.startedAt,
          durationSeconds: r.sidecar.durationSeconds,
          caller: r.sidecar.caller,
          callee: r.sidecar.callee,
        });
      } else {
        // Without a sidecar: the file's modification time, nothing else.
        expect(node).toMatchObject({ callId: '', durationSeconds: 0, caller: null, callee: null });
      }
    }
  });

  it('puts every recording and backup in the store with equal checksums, and nothing else; local data is untouched', async () => {
    const root = s.storeRoot();
    const stored = listFiles(root, ['.cds-staging']);
    // CDS chose every key: under the PBX's prefix, from the file's path and content, never the path itself.
    const keyOf = (category: string, sourcePath: string) => objectKeyFor(VM, category, sourcePath, sha256(path.join(dir, sourcePath)));
    const expected = [
      ...tree.recordings.map((r) => keyOf('CALL_RECORDINGS', r.sourcePath)),
      ...tree.backups.map((b) => keyOf('BACKUPS', b.sourcePath)),
    ].sort();
    expect(stored).toEqual(expected);
    for (const r of [...tree.recordings, ...tree.backups]) {
      const key = keyOf(r.sourcePath.startsWith('backups/') ? 'BACKUPS' : 'CALL_RECORDINGS', r.sourcePath);
      expect(sha256(path.join(root, key))).toBe(sha256(path.join(dir, r.sourcePath)));
    }
    const objects = await cdsObjects(s, VM);
    expect(objects).toHaveLength(153);
    for (const o of objects) expect(o.sha256).toBe(sha256(path.join(root, o.objectKey)));
    expect(fingerprint(dir)).toEqual(before);
    expect(existsSync(path.join(dir, '.cds-agent', 'lock'))).toBe(false);
    expect(existsSync(path.join(dir, '.cds-agent', 'state.json'))).toBe(false);
  });

  it('run again on an ACTIVE PBX: nothing to do, exit 0, nothing copied', async () => {
    const run = await runAgent(s, VM, dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/already ACTIVE/);
    expect((await pbxView(s, VM)).migrations).toHaveLength(1);
  });

  describe('--purge', () => {
    it('removes only expired local copies whose CDS copy verifies (and their sidecars); keeps the rest', async () => {
      const repo = s.stack.subgraphs.recordings.runtime.db.getRepository(Recording);
      // The 7 days pass for the first 60 recordings (the test moves their expiry into the past).
      const expired = tree.recordings.slice(0, 60);
      const kept = tree.recordings.slice(60);
      await repo.update(
        { pbxId: VM, sourcePath: In(expired.map((r) => r.sourcePath)) },
        { localCopyExpiresAt: new Date(Date.now() - 60_000) },
      );
      // One expired recording's CDS copy no longer verifies: its local copy must stay.
      const bad = expired[7];
      const badObject = path.join(
        s.storeRoot(),
        ...objectKeyFor(VM, 'CALL_RECORDINGS', bad.sourcePath, sha256(path.join(dir, bad.sourcePath))).split('/'),
      );
      const original = readFileSync(badObject);
      const damaged = Buffer.from(original);
      damaged[100] ^= 0xff;
      writeFileSync(badObject, damaged);

      const first = await runAgent(s, VM, dir, { extra: ['--purge'] });
      expect(first.code).toBe(1);
      expect(first.stderr).toContain(bad.sourcePath);
      expect(first.stderr).toMatch(/removed 59 expired local recording copies/);
      expect(first.stderr.trim().split('\n')).toHaveLength(1);

      const local = (p: string) => existsSync(path.join(dir, p));
      const sidecarOf = (p: string) => p.replace(/\.wav$/, '.json');
      for (const r of expired) {
        const stays = r === bad;
        expect(local(r.sourcePath)).toBe(stays);
        if (r.sidecar) expect(local(sidecarOf(r.sourcePath))).toBe(stays);
      }
      for (const r of kept) {
        expect(local(r.sourcePath)).toBe(true);
        if (r.sidecar) expect(local(sidecarOf(r.sourcePath))).toBe(true);
      }
      // Backups, voicemails and faxes are never purged.
      const after = fingerprint(dir);
      for (const [p, fp] of before) if (!p.startsWith('recordings/')) expect(after.get(p)).toBe(fp);
      // The expired recordings now read CDS; the others keep their local copy.
      const { nodes } = await allRecordings(VM);
      expect(nodes.filter((n) => n.location === 'CDS')).toHaveLength(60);
      expect(nodes.filter((n) => n.location === 'CDS_WITH_LOCAL_COPY')).toHaveLength(90);

      // Once the CDS copy is sound again, the next purge removes it; the rest were gone already.
      copyFileSync(path.join(dir, bad.sourcePath), badObject);
      const second = await runAgent(s, VM, dir, { extra: ['--purge'] });
      expect(second.stderr).toBe('');
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/removed 1 expired local recording copy .*90 still within their 7 days, 59 already gone/);
      expect(local(bad.sourcePath)).toBe(false);
      // The CDS copies themselves are untouched.
      expect(listFiles(path.join(s.storeRoot(), VM))).toHaveLength(153);
    });
  });
});

describe('a cloud PBX: the agent picks up the migration its WMS upgrade started', () => {
  it('registered on 6.04, reports 6.05 (WMS_UPGRADE migration), then the agent migrates it', async () => {
    await registerAgentPbx(s, CLOUD, 'CLOUD', '6.04.20230901.1');
    const reported = await s.stack.ok<{
      reportWmsVersion: {
        pbx: { wmsVersion: string; cds: { state: string }; currentMigration: { id: string; status: string; trigger: string } | null };
      };
    }>(contractOperation('Lifecycle.graphql', 'ReportWmsVersion'), { pbxId: CLOUD, version: '6.05.20240115.2' }, tokens.pbx(CLOUD));
    expect(reported.reportWmsVersion.pbx.currentMigration).toMatchObject({ status: 'QUEUED', trigger: 'WMS_UPGRADE' });
    const migrationId = reported.reportWmsVersion.pbx.currentMigration!.id;

    const dir = path.join(s.tmp, 'cloud');
    await generateSampleTree(dir, { recordings: 40, backups: { count: 1, bytes: 50_000 }, voicemails: 2 });
    const run = await runAgent(s, CLOUD, dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const view = await pbxView(s, CLOUD);
    expect(view.cds.state).toBe('ACTIVE');
    expect(view.migrations).toHaveLength(1);
    expect(view.migrations[0]).toMatchObject({
      id: migrationId,
      trigger: 'WMS_UPGRADE',
      status: 'COMPLETED',
      itemsDone: 41,
      itemsTotal: 41,
    });
  });

  it("a cloud PBX below 6.05 is refused with the server's reason, exit 1", async () => {
    await registerAgentPbx(s, CLOUD_OLD, 'CLOUD', '6.04.20230901.1');
    const dir = path.join(s.tmp, 'cloud-old');
    await generateSampleTree(dir, { recordings: 3 });
    const run = await runAgent(s, CLOUD_OLD, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^cds-agent: CDS cannot be activated for PBX a70000000003: .*cloud PBX/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect((await pbxView(s, CLOUD_OLD)).cds.state).toBe('NOT_ACTIVATED');
  });
});

describe('what the agent reads', () => {
  it('.MP3 and nested recordings, sidecar values as strings, empty and linked files; stray files left alone; a bad sidecar fails naming it', async () => {
    const pbxId = 'a70000000004';
    await registerAgentPbx(s, pbxId, 'HARDWARE');
    const dir = path.join(s.tmp, 'edge');
    const write = (p: string, content: string | Buffer) => {
      mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      writeFileSync(path.join(dir, p), content);
    };
    write('recordings/2024/05/deep/x.MP3', Buffer.alloc(1000, 7));
    write(
      'recordings/2024/05/deep/x.json',
      JSON.stringify({ callId: 42, startedAt: '2024-05-01T10:00:00+02:00', durationSeconds: '12.6', caller: ' 201 ', callee: '' }),
    );
    write('recordings/2024/05/deep/y.wav', Buffer.alloc(500, 9));
    write('recordings/2024/05/deep/y.json', '{ not json');
    write('recordings/notes.txt', 'not a recording');
    write('recordings/orphan.json', '{}');
    write('backups/empty.bak', '');
    write('backups/real.tar', Buffer.alloc(3000, 1));
    symlinkSync(path.join(dir, 'backups', 'real.tar'), path.join(dir, 'backups', 'link.tar'));
    // Links out of the source tree are never followed: neither to a file nor to a directory.
    symlinkSync('/etc/passwd', path.join(dir, 'recordings', 'x.wav'));
    symlinkSync('/etc', path.join(dir, 'backups', 'etc'));
    // A path of any length the file system allows (the key is not the path): 1,300 bytes of backup path.
    const longPath = `backups/${Array.from({ length: 6 }, (_, i) => `${'d'.repeat(200)}${i}`).join('/')}/${'ü'.repeat(40)}-ütf8 name.bak`;
    write(longPath, Buffer.alloc(700, 3));
    // And a recording's: its row is found by the SHA-256 of its path, which may be longer than any index key.
    const longRecording = `recordings/${Array.from({ length: 6 }, (_, i) => `${'r'.repeat(200)}${i}`).join('/')}/${'ä'.repeat(40)}-call.wav`;
    write(longRecording, Buffer.alloc(1300, 5));
    write('voicemails/101/m.wav', Buffer.alloc(10, 1));
    // File names are bytes, not always UTF-8 (an old PBX's Latin-1 names): they migrate under an escaped text
    // (agent/source-names.ts: an invalid byte is U+FFFD and its hex digits, a literal U+FFFD is doubled).
    const latin1 = (s: string) => Buffer.from(s, 'latin1');
    const writeBytes = (names: Buffer[], content: Buffer) => {
      const file = Buffer.concat([Buffer.from(dir), ...names.flatMap((n) => [Buffer.from('/'), n])]);
      mkdirSync(file.subarray(0, file.lastIndexOf('/')), { recursive: true });
      writeFileSync(file, content);
      return file;
    };
    const oddNames = [
      {
        file: writeBytes([latin1('backups'), latin1('caf\xe9-latin1.bak')], Buffer.alloc(11, 0x11)),
        text: 'backups/caf\uFFFDE9-latin1.bak',
      },
      { file: writeBytes([latin1('backups'), latin1('lone-\xff')], Buffer.alloc(12, 0x12)), text: 'backups/lone-\uFFFDFF' },
      // A literal U+FFFD followed by what looks like an escape: it must not read as the byte 0xE9.
      {
        file: writeBytes([latin1('backups'), Buffer.from('literal-\uFFFDE9.bak')], Buffer.alloc(13, 0x13)),
        text: 'backups/literal-\uFFFD\uFFFDE9.bak',
      },
      // A backslash is a character of a Linux name, but the server reads it as a separator: it is escaped too.
      { file: writeBytes([latin1('backups'), latin1('back\\slash.bak')], Buffer.alloc(14, 0x14)), text: 'backups/back\uFFFD5Cslash.bak' },
      // A recording and its sidecar, both named in Latin-1, in a folder named in Latin-1.
      {
        file: writeBytes([latin1('recordings'), latin1('d\xe9p\xf4t'), latin1('call-\xe9t\xe9.wav')], Buffer.alloc(1700, 0x17)),
        text: 'recordings/d\uFFFDE9p\uFFFDF4t/call-\uFFFDE9t\uFFFDE9.wav',
      },
    ];
    // Left alone like any stray file, and named by its text in the summary.
    writeBytes([latin1('recordings'), latin1('notes-\xe9.txt')], Buffer.from('not a recording'));
    const oddSidecar = writeBytes(
      [latin1('recordings'), latin1('d\xe9p\xf4t'), latin1('call-\xe9t\xe9.json')],
      Buffer.from(JSON.stringify({ callId: 'latin1-call', startedAt: '2024-06-01T12:00:00Z', durationSeconds: 17, caller: '301' })),
    );

    const bad = await runAgent(s, pbxId, dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/recordings\/2024\/05\/deep\/y\.json: the sidecar is not valid JSON/);
    expect(bad.stdout).toMatch(/Found 4 recordings .*, 7 backups .*, 1 voicemails/);
    expect(bad.stdout).toMatch(/Left alone: 6 entries that are not files to migrate/);

    write('recordings/2024/05/deep/y.json', JSON.stringify({ durationSeconds: 3 }));
    const good = await runAgent(s, pbxId, dir);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    const objects = await cdsObjects(s, pbxId);
    expect(Buffer.byteLength(longPath)).toBeGreaterThan(1300);
    expect(Buffer.byteLength(longRecording)).toBeGreaterThan(1300);
    expect(objects.map((o) => o.sourcePath).sort()).toEqual(
      [
        'backups/empty.bak',
        longPath,
        'backups/real.tar',
        'recordings/2024/05/deep/x.MP3',
        'recordings/2024/05/deep/y.wav',
        longRecording,
        ...oddNames.map((o) => o.text),
      ].sort(),
    );
    // The CDS copies are those files' bytes, and the run's messages name them by their text, never by raw bytes.
    for (const { file, text } of oddNames) {
      const object = objects.find((o) => o.sourcePath === text)!;
      expect(readFileSync(path.join(s.storeRoot(), ...object.objectKey.split('/')))).toEqual(readFileSync(file));
    }
    // (Printed as raw bytes, the name would read back as a bare U+FFFD, without its hex digits.)
    expect(good.stdout).toContain('recordings/notes-\uFFFDE9.txt (not a .wav or .mp3 recording)');
    expect(objects.find((o) => o.sourcePath === 'backups/empty.bak')).toMatchObject({
      sizeBytes: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
    // Nothing of /etc reached CDS; the links are reported by name, in the summary and on the migration.
    for (const o of objects) expect(o.sha256).not.toBe(sha256('/etc/passwd'));
    expect(good.stdout).toMatch(/Skipped 6 entries of the source tree \(not migrated\): .*backups\/etc \(a symbolic link/);
    expect(good.stdout).toContain('recordings/x.wav (a symbolic link');
    const skipped = await s.stack.ok<{
      pbx: { migrations: { skippedCount: number; skipped: { sourcePath: string; reason: string }[] }[] };
    }>(`query($id: ID!) { pbx(id: $id) { migrations { skippedCount skipped { sourcePath reason } } } }`, { id: pbxId });
    expect(skipped.pbx.migrations[0].skippedCount).toBe(6);
    expect(skipped.pbx.migrations[0].skipped.map((e) => e.sourcePath).sort()).toEqual([
      'backups/etc',
      'backups/link.tar',
      'recordings/notes-\uFFFDE9.txt',
      'recordings/notes.txt',
      'recordings/orphan.json',
      'recordings/x.wav',
    ]);
    const { nodes } = await allRecordings(pbxId);
    const x = nodes.find((n) => n.sizeBytes === 1000)!;
    expect(x).toMatchObject({ callId: '42', startedAt: '2024-05-01T08:00:00.000Z', durationSeconds: 13, caller: '201', callee: null });
    // y's sidecar has no startedAt: the file's modification time stands in.
    const y = nodes.find((n) => n.sizeBytes === 500)!;
    expect(Math.abs(Date.parse(y.startedAt) - statSync(path.join(dir, 'recordings/2024/05/deep/y.wav')).mtimeMs)).toBeLessThan(1);
    expect(y.durationSeconds).toBe(3);
    const long = nodes.find((n) => n.sizeBytes === 1300)!;
    expect(long).toMatchObject({ location: 'CDS_WITH_LOCAL_COPY', sha256: sha256(path.join(dir, longRecording)) });
    const odd = nodes.find((n) => n.sizeBytes === 1700)!;
    expect(odd).toMatchObject({
      callId: 'latin1-call',
      startedAt: '2024-06-01T12:00:00.000Z',
      durationSeconds: 17,
      caller: '301',
      callee: null,
      location: 'CDS_WITH_LOCAL_COPY',
      sha256: createHash('sha256').update(readFileSync(oddNames[4].file)).digest('hex'),
    });
    expect(nodes).toHaveLength(4);

    // --purge finds the recording's local file (and its sidecar) from that text, once its 7 days are over.
    await s.stack.subgraphs.recordings.runtime.db
      .getRepository(Recording)
      .update({ pbxId, sourcePath: oddNames[4].text }, { localCopyExpiresAt: new Date(Date.now() - 60_000) });
    const purged = await runAgent(s, pbxId, dir, { extra: ['--purge'] });
    expect(purged.stderr).toBe('');
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/removed 1 expired local recording copy .* and 1 sidecar; 3 still within their 7 days, 0 already gone/);
    expect(existsSync(oddNames[4].file)).toBe(false);
    expect(existsSync(oddSidecar)).toBe(false);
    for (const { file } of oddNames.slice(0, 4)) expect(existsSync(file)).toBe(true);
    expect(existsSync(path.join(dir, longRecording))).toBe(true);
  });
});

describe('an agent that cannot reach the store at all', () => {
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const itAsOther = process.getuid?.() === 0 && setpriv ? it : it.skip;
  itAsOther(
    'as another user, with the store directory closed to it, the migration completes: every byte went through the gateway',
    async () => {
      const pbxId = 'a70000000005';
      await registerAgentPbx(s, pbxId, 'VIRTUAL');
      const dir = path.join(s.tmp, 'no-store');
      const tree = await generateSampleTree(dir, { recordings: 20, backups: { count: 1, bytes: 50_000 } });
      mkdirSync(s.storeRoot(), { recursive: true });
      chmodSync(path.join(s.tmp, 'cds'), 0o700); // root's; the agent runs as nobody
      execFileSync('chown', ['-R', 'nobody', dir]);
      chmodSync(s.tmp, 0o755);
      const run = await runAgent(s, pbxId, dir, {
        prefix: [setpriv!, '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--bounding-set', '-all'],
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const view = await pbxView(s, pbxId);
      expect(view.cds.state).toBe('ACTIVE');
      expect(view.migrations[0]).toMatchObject({ status: 'COMPLETED', itemsDone: 21, itemsTotal: 21 });
      for (const o of await cdsObjects(s, pbxId)) expect(sha256(path.join(s.storeRoot(), o.objectKey))).toBe(o.sha256);
      expect(tree.recordings).toHaveLength(20);
    },
  );
});

describe('usage errors', () => {
  it('exit 2 with one line naming what is wrong', async () => {
    const run = await runAgent(s, 'nonsense', s.tmp);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--pbx 'nonsense' is not a PBX serial/);
    const noDir = await runAgent(s, VM, path.join(s.tmp, 'missing'));
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/is not a directory/);
  });
});
