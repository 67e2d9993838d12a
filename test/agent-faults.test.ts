import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSampleTree, SampleTree, writeLargeFile } from '../agent/sample-tree';
import { DirectoryStore } from '../kernel/objectstore/directory-store';
import { objectKeyFor } from '../kernel/objectstore/store';
import {
  AgentStack,
  cdsObjects,
  fingerprint,
  listFiles,
  pbxView,
  registerAgentPbx,
  runAgent,
  sha256,
  startAgent,
  startAgentStack,
  waitFor,
} from './agent-harness';

/**
 * The CDS agent's faults (issue 3): killed mid-run, an unreadable source
 * file, a CDS copy that does not verify, two agents for one PBX. The real CLI
 * as a child process against the whole stack; the lease is short so a
 * killed agent's hold on the migration runs out quickly.
 */
jest.setTimeout(240_000);

let s: AgentStack;
beforeAll(async () => {
  s = await startAgentStack({ MIGRATION_LEASE_SECONDS: '3' });
});
afterAll(async () => {
  await s?.stop();
});

/** Where an object lives in the file store, and its identity on disk (a rewrite gets a new inode). */
const objectFile = (key: string) => path.join(s.storeRoot(), ...key.split('/'));
const identity = (file: string) => {
  const st = statSync(file);
  return `${st.ino}:${st.mtimeMs}`;
};
/** CDS chooses keys: derived from the PBX, the category, the path and the content (objectKeyFor). */
const keyOf = (pbxId: string, category: string, dir: string, sourcePath: string) =>
  objectKeyFor(pbxId, category, sourcePath, sha256(path.join(dir, sourcePath)));
const expectedKeys = (pbxId: string, tree: SampleTree, dir: string) =>
  [
    ...tree.recordings.map((r) => keyOf(pbxId, 'CALL_RECORDINGS', dir, r.sourcePath)),
    ...tree.backups.map((b) => keyOf(pbxId, 'BACKUPS', dir, b.sourcePath)),
  ].sort();
const storedKeys = (pbxId: string) => listFiles(path.join(s.storeRoot(), pbxId)).map((k) => `${pbxId}/${k}`);

/** Checks the end state of a completed migration: every file once in the store, checksums and counts equal. */
async function expectCompleted(pbxId: string, dir: string, tree: SampleTree) {
  const total = tree.recordings.length + tree.backups.length;
  const view = await pbxView(s, pbxId);
  expect(view.cds.state).toBe('ACTIVE');
  expect(view.migrations[0]).toMatchObject({ status: 'COMPLETED', itemsDone: total, itemsTotal: total, percent: 100 });
  expect(storedKeys(pbxId)).toEqual(expectedKeys(pbxId, tree, dir));
  const objects = await cdsObjects(s, pbxId);
  expect(objects).toHaveLength(total);
  expect(new Set(objects.map((o) => o.sourcePath)).size).toBe(total);
  for (const o of objects) {
    const local = sha256(path.join(dir, o.sourcePath));
    expect(o.sha256).toBe(local);
    expect(sha256(objectFile(o.objectKey))).toBe(local);
  }
  const recordings = await s.stack.ok<{ pbx: { recordings: { totalCount: number } } }>(
    `query($id: ID!) { pbx(id: $id) { recordings(first: 1) { totalCount } } }`,
    { id: pbxId },
  );
  expect(recordings.pbx.recordings.totalCount).toBe(tree.recordings.length);
}

describe('killed with SIGKILL mid-run and started again', () => {
  it('completes with every file present once, checksums and counts equal, nothing verified copied again', async () => {
    const pbxId = 'a7f000000001';
    await registerAgentPbx(s, pbxId, 'VIRTUAL');
    const dir = path.join(s.tmp, 'killed');
    const tree = await generateSampleTree(dir, {
      recordings: 2000,
      recordingBytes: { min: 2_000, max: 6_000 },
      backups: { count: 2, bytes: 100_000 },
      faxes: 3,
    });
    const before = fingerprint(dir);

    const first = startAgent(s, pbxId, dir, { extra: ['--batch-size', '100'] });
    await waitFor('the first progress report', async () => {
      const m = (await pbxView(s, pbxId)).currentMigration;
      return Boolean(m && m.itemsDone > 0);
    });
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');

    // What the server counted before the kill: these must not be written again.
    const verifiedBefore = await cdsObjects(s, pbxId);
    expect(verifiedBefore.length).toBeGreaterThan(0);
    expect(verifiedBefore.length).toBeLessThan(2002);
    const identities = new Map(verifiedBefore.map((o) => [o.objectKey, identity(objectFile(o.objectKey))]));
    // The killed agent left its lock (its pid is gone) and its run state behind.
    expect(existsSync(path.join(dir, '.cds-agent', 'lock'))).toBe(true);
    expect(existsSync(path.join(dir, '.cds-agent', 'state.json'))).toBe(true);

    const second = await runAgent(s, pbxId, dir);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("Resuming this agent's earlier run");
    // At least what was counted before the kill (a report in flight when the agent died may have been counted after it).
    const earlier = Number(/(\d+) verified by an earlier run/.exec(second.stdout)?.[1] ?? -1);
    expect(earlier).toBeGreaterThanOrEqual(verifiedBefore.length);

    await expectCompleted(pbxId, dir, tree);
    for (const [key, id] of identities) expect(identity(objectFile(key))).toBe(id);
    expect((await pbxView(s, pbxId)).migrations).toHaveLength(1);
    expect(fingerprint(dir)).toEqual(before);
  });
});

describe('interrupted (Ctrl+C)', () => {
  it('reports what is verified, exits 1 leaving the migration to resume, and the next run completes it', async () => {
    const pbxId = 'a7f000000005';
    await registerAgentPbx(s, pbxId, 'VIRTUAL');
    const dir = path.join(s.tmp, 'interrupted');
    const tree = await generateSampleTree(dir, { recordings: 1500, recordingBytes: 3_000 });
    const first = startAgent(s, pbxId, dir, { extra: ['--batch-size', '100', '--concurrency', '2'] });
    await waitFor('the first progress report', async () => Boolean((await pbxView(s, pbxId)).currentMigration?.itemsDone));
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/^cds-agent: Interrupted: \d+ of 1500 files are verified in CDS\. Run the agent again to resume\.\n$/);
    const view = await pbxView(s, pbxId);
    // Not failed: still this run's, and everything it verified is counted.
    expect(view.currentMigration?.status).toBe('RUNNING');
    const counted = (await cdsObjects(s, pbxId)).length;
    expect(view.currentMigration?.itemsDone).toBe(counted);
    expect(stopped.stderr).toContain(`Interrupted: ${counted} of 1500`);

    const resumed = await runAgent(s, pbxId, dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`${counted} verified by an earlier run`);
    await expectCompleted(pbxId, dir, tree);
  });
});

/** root reads any file: the agent then runs without the capability that lets it (setpriv, util-linux). */
const asRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const itUnreadable = !asRoot || setpriv ? it : it.skip;

describe('an unreadable source file', () => {
  itUnreadable('fails the migration naming the file, leaves local data untouched, and a later activation resumes', async () => {
    const pbxId = 'a7f000000002';
    await registerAgentPbx(s, pbxId, 'HARDWARE');
    const dir = path.join(s.tmp, 'unreadable');
    const tree = await generateSampleTree(dir, { recordings: 300, backups: { count: 1, bytes: 80_000 }, voicemails: 2 });
    const before = fingerprint(dir);
    const target = tree.recordings[150].sourcePath;
    chmodSync(path.join(dir, target), 0o000);
    const prefix = asRoot ? [setpriv!, '--bounding-set', '-dac_override,-dac_read_search'] : [];

    const failed = await runAgent(s, pbxId, dir, { prefix });
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toContain(`${target}: could not be read: permission denied (EACCES)`);
    let view = await pbxView(s, pbxId);
    expect(view.cds.state).toBe('MIGRATION_FAILED');
    expect(view.migrations[0].status).toBe('FAILED');
    expect(view.migrations[0].error).toContain(target);
    chmodSync(path.join(dir, target), 0o644);
    expect(fingerprint(dir)).toEqual(before);
    const verifiedBefore = await cdsObjects(s, pbxId);
    expect(verifiedBefore.map((o) => o.sourcePath)).not.toContain(target);
    const identities = new Map(verifiedBefore.map((o) => [o.objectKey, identity(objectFile(o.objectKey))]));

    const resumed = await runAgent(s, pbxId, dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`${verifiedBefore.length} verified by an earlier run`);
    await expectCompleted(pbxId, dir, tree);
    for (const [key, id] of identities) expect(identity(objectFile(key))).toBe(id);
    view = await pbxView(s, pbxId);
    expect(view.migrations.map((m) => m.status)).toEqual(['COMPLETED', 'FAILED']);
    expect(fingerprint(dir)).toEqual(before);
  });
});

describe('a CDS object that does not verify', () => {
  /**
   * Fault injection in the store the gateway writes into (this process runs
   * the stack): after an object whose key matches `pattern` is stored, one
   * byte of it flips (`times` times at most), as a faulty disk would. CDS's
   * own verification must catch it; the agent never sees the store.
   */
  const stage = DirectoryStore.prototype.stage;
  const corrupting = (pattern: RegExp, times = Infinity) => {
    const damaged: string[] = [];
    let left = times;
    DirectoryStore.prototype.stage = async function (this: DirectoryStore, key, source, expected) {
      const staged = await stage.call(this, key, source, expected);
      return {
        commit: async () => {
          const placed = await staged.commit();
          if (pattern.test(key) && left-- > 0) {
            damaged.push(key);
            const stored = path.join(this.root, ...key.split('/'));
            const bytes = readFileSync(stored);
            bytes[Math.min(50, bytes.length - 1)] ^= 0xff;
            writeFileSync(stored, bytes);
          }
          return placed;
        },
      };
    };
    return damaged;
  };
  afterEach(() => {
    DirectoryStore.prototype.stage = stage;
  });

  it('is never counted: CDS refuses it and removes it, the agent uploads it again, and a copy that keeps failing fails the migration naming the file', async () => {
    const pbxId = 'a7f000000003';
    await registerAgentPbx(s, pbxId, 'VIRTUAL');
    const dir = path.join(s.tmp, 'corrupt');
    const tree = await generateSampleTree(dir, { recordings: 60, backups: { count: 1, bytes: 40_000 } });
    await writeLargeFile(path.join(dir, 'backups', 'big.tar'), 17 * 1024 * 1024);
    tree.backups.push({ sourcePath: 'backups/big.tar', sizeBytes: 17 * 1024 * 1024 });
    const target = tree.recordings[30].sourcePath;
    const key = keyOf(pbxId, 'CALL_RECORDINGS', dir, target);
    const bigKey = keyOf(pbxId, 'BACKUPS', dir, 'backups/big.tar');

    corrupting(new RegExp(`^${key}$`));
    const failed = await runAgent(s, pbxId, dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${target}: its CDS copy did not verify after being uploaded again; it was not counted`);
    const objects = await cdsObjects(s, pbxId);
    expect(objects.map((o) => o.sourcePath)).not.toContain(target);
    const view = await pbxView(s, pbxId);
    expect(view.migrations[0]).toMatchObject({ status: 'FAILED', itemsDone: objects.length });
    expect(view.migrations[0].error).toContain(target);
    // CDS removed the bad copy it found: nothing wrong stays under the file's key.
    expect(existsSync(objectFile(key))).toBe(false);

    // Next run: its first upload is damaged once more, CDS refuses and removes it, the second verifies.
    const damaged = corrupting(new RegExp(`^(${key}|${bigKey})$`), 1);
    const resumed = await runAgent(s, pbxId, dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    await expectCompleted(pbxId, dir, tree);
    // The large backup verified in the first run and is not uploaded again; the recording was damaged once more.
    expect(damaged).toEqual([key]);
  });
});

describe('two agents for the same PBX at once', () => {
  it('one runs; the other exits non-zero with a clear message (same tree: local lock; another machine: the server lease)', async () => {
    const pbxId = 'a7f000000004';
    await registerAgentPbx(s, pbxId, 'VIRTUAL');
    const dir = path.join(s.tmp, 'twice');
    const tree = await generateSampleTree(dir, { recordings: 1200, recordingBytes: 3_000 });
    const otherDir = path.join(s.tmp, 'twice-elsewhere');
    await generateSampleTree(otherDir, { recordings: 5 });

    const first = startAgent(s, pbxId, dir, { extra: ['--concurrency', '1', '--batch-size', '50'] });
    await waitFor('the first agent to take the migration', () => existsSync(path.join(dir, '.cds-agent', 'state.json')));

    const [sameTree, elsewhere] = await Promise.all([runAgent(s, pbxId, dir), runAgent(s, pbxId, otherDir)]);
    expect(sameTree.code).toBe(1);
    expect(sameTree.stderr.trim()).toBe(
      `cds-agent: another cds-agent (pid ${first.child.pid}) is already migrating PBX ${pbxId} from ${dir}`,
    );
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr.trim().split('\n')).toHaveLength(1);
    expect(elsewhere.stderr).toMatch(/Another agent is migrating PBX a7f000000004/);
    // The one that lost changed nothing: the first still completes.
    expect(first.output().stderr).toBe('');
    const done = await first.done;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    await expectCompleted(pbxId, dir, tree);
    expect(listFiles(path.join(otherDir, '.cds-agent'))).toEqual([]);
  });
});
