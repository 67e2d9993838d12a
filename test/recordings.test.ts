import { contractOperation, RecordingNode } from './support/operations';
import { createCustomer, networkOf, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';
import { seedRecordings } from '../subgraphs/recordings/seed';

/**
 * The contract's Recordings operation through the gateway: the network
 * subgraph resolves `pbx(id)` (and its scope), the recordings subgraph adds
 * `recordings` through `_entities`. The subgraph's own details (index plans,
 * registerRecordings) are in recordings-subgraph.test.ts.
 */

/** The Recordings selection of this file: the contract's, without the duration. */
type Node = Omit<RecordingNode, 'durationSeconds'>;
interface Recordings {
  pbx: {
    id: string;
    recordings: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      edges: { cursor: string; node: Node }[];
    };
  } | null;
}

const RECORDINGS = contractOperation('Recordings.graphql', 'Recordings');
const NOW = new Date('2024-06-01T12:00:00.000Z');
const MIGRATED = new Date('2024-05-20T00:00:00.000Z');
const A = serial(1, 'c0'); // customer rec-a, network rec-net: 130 recordings, migrated on MIGRATED
const B = serial(2, 'c0'); // customer rec-b, standalone: 3 recordings, never migrated

describe('Recordings (contract operation through the gateway)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ keepStatements: true });
    await createCustomer(stack, 'rec-a');
    await stack.ok(`mutation { createNetwork(input: { id: "rec-net", name: "Recordings", customerId: "rec-a" }) { network { id } } }`);
    await registerPbx(stack, { id: A, customerId: 'rec-a', networkId: 'rec-net' });
    await createCustomer(stack, 'rec-b');
    await registerPbx(stack, { id: B, customerId: 'rec-b' });
    await networkOf(stack, 'fleet-small', 'fleet-small-net', 2, 'd1');
    await networkOf(stack, 'fleet-large', 'fleet-large-net', 12, 'd2');
    await stack.settle();
    const db = stack.subgraphs.recordings.runtime.db;
    await seedRecordings(db, A, 130, { now: NOW, days: 30, migratedAt: MIGRATED, migrationId: 'm-1' });
    await seedRecordings(db, B, 3, { now: NOW });
    for (let i = 1; i <= 12; i++) {
      if (i <= 2) await seedRecordings(db, serial(i, 'd1'), 4, { now: NOW });
      await seedRecordings(db, serial(i, 'd2'), 4, { now: NOW });
    }
  }, 240_000);
  afterAll(() => stack?.stop());

  it('pages newest first with cursors; totalCount counts every page', async () => {
    const first = await stack.ok<Recordings>(RECORDINGS, { pbxId: A }, tokens.admin());
    const page1 = first.pbx!.recordings;
    expect(page1.totalCount).toBe(130);
    expect(page1.edges).toHaveLength(50);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await stack.ok<Recordings>(RECORDINGS, { pbxId: A, first: 100, after: page1.pageInfo.endCursor }, tokens.admin());
    const page2 = second.pbx!.recordings;
    expect(page2.edges).toHaveLength(80);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const all = [...page1.edges, ...page2.edges].map((e) => e.node);
    expect(new Set(all.map((n) => n.id)).size).toBe(130);
    const starts = all.map((n) => n.startedAt);
    expect([...starts].sort().reverse()).toEqual(starts);
    // Before the migration: in CDS, its 7-day local copy long expired; after it: still local.
    for (const node of all) {
      if (node.startedAt < MIGRATED.toISOString()) {
        expect(node).toMatchObject({ location: 'CDS', localCopyExpiresAt: '2024-05-27T00:00:00.000Z' });
        expect(node.sha256).toMatch(/^[0-9a-f]{64}$/);
      } else {
        expect(node).toMatchObject({ location: 'LOCAL', localCopyExpiresAt: null, sha256: null });
      }
    }
  });

  it('filters on the call start: `from` inclusive, `to` exclusive', async () => {
    const all = (await stack.ok<Recordings>(RECORDINGS, { pbxId: A, first: 500 })).pbx!.recordings.edges.map((e) => e.node);
    const from = all[100].startedAt;
    const to = all[10].startedAt;
    const expected = all.filter((n) => n.startedAt >= from && n.startedAt < to).map((n) => n.id);
    const window = (await stack.ok<Recordings>(RECORDINGS, { pbxId: A, first: 500, from, to })).pbx!.recordings;
    expect(window.totalCount).toBe(expected.length);
    expect(window.edges.map((e) => e.node.id)).toEqual(expected);
  });

  it('refuses more than 500 a page', async () => {
    const result = await stack.gql<Recordings>(RECORDINGS, { pbxId: A, first: 501 });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('analysts read recordings but not caller and callee', async () => {
    const result = await stack.gql<Recordings>(RECORDINGS, { pbxId: B }, tokens.analyst());
    expect(result.errors).toHaveLength(6);
    expect(result.errors!.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    const nodes = result.data!.pbx!.recordings.edges.map((e) => e.node);
    expect(nodes).toHaveLength(3);
    expect(nodes.every((n) => n.caller === null && n.callee === null && n.callId !== '')).toBe(true);
    const admin = await stack.ok<Recordings>(RECORDINGS, { pbxId: B });
    expect(admin.pbx!.recordings.edges.every((e) => e.node.caller && e.node.callee)).toBe(true);
  });

  it('partners and PBXs see only their own recordings', async () => {
    expect((await stack.ok<Recordings>(RECORDINGS, { pbxId: B }, tokens.partner(['rec-b']))).pbx!.recordings.totalCount).toBe(3);
    expect((await stack.ok<Recordings>(RECORDINGS, { pbxId: A }, tokens.pbx(A))).pbx!.recordings.totalCount).toBe(130);
    for (const [pbxId, token] of [
      [A, tokens.partner(['rec-b'])],
      [B, tokens.pbx(A)],
    ]) {
      const refused = await stack.gql<Recordings>(RECORDINGS, { pbxId }, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(refused.data?.pbx ?? null).toBeNull();
    }
  });

  it("a network's PBXs with their recordings cost the recordings subgraph the same statements for 2 PBXs as for 12", async () => {
    const query = `query ($id: ID!) { network(id: $id) { pbxs { id recordings(first: 3) { totalCount edges { node { id location } } } } } }`;
    const cost = async (id: string, pbxCount: number) => {
      const counter = stack.subgraphs.recordings.runtime.counter;
      counter.reset();
      const data = await stack.ok<{ network: { pbxs: { recordings: { totalCount: number; edges: unknown[] } }[] } }>(
        query,
        { id },
        tokens.admin(),
      );
      expect(data.network.pbxs).toHaveLength(pbxCount);
      expect(data.network.pbxs.every((p) => p.recordings.totalCount === 4 && p.recordings.edges.length === 3)).toBe(true);
      return counter.count; // the counter leaves out the outbox relay's own statements
    };
    const small = await cost('fleet-small-net', 2);
    const large = await cost('fleet-large-net', 12);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(3);
  });
});
