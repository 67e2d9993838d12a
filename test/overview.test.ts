import { CdsState, DataCategory, MigrationStatus, MigrationTrigger } from '../kernel/domain/enums';
import { seedStorage } from '../subgraphs/storage/seed';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';
import { reportUntilVerified, TestObjectStore } from './support/objects';
import { contractDocument, contractOperation } from './support/operations';

/**
 * cdsOverview (the storage half of the contract's AnalystOverview): its
 * figures must be what PbxDetails and NetworkDashboard show for the same
 * PBXs, summed. The data comes in through the public API (registration, the
 * lifecycle mutations the agent uses) plus the storage seed helper.
 */

const OVERVIEW = `query ($region: String) {
  cdsOverview(region: $region) {
    region pbxCount usedBytes
    byState { state pbxCount }
    byCategory { category usedBytes itemCount }
    migrationsByStatus { status count }
  }
}`;
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const DETAILS = contractDocument('PbxDetails.graphql');
const DASHBOARD = contractDocument('NetworkDashboard.graphql');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT = `mutation ($id: ID!, $token: String!, $items: [VerifiedItemInput!]!) { reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status } }`;
const FAIL = `mutation ($id: ID!, $token: String, $error: String!) { failMigration(migrationId: $id, runToken: $token, error: $error) { status } }`;

interface Overview {
  region: string | null;
  pbxCount: number;
  usedBytes: number;
  byState: { state: CdsState; pbxCount: number }[];
  byCategory: { category: DataCategory; usedBytes: number; itemCount: number }[];
  migrationsByStatus: { status: MigrationStatus; count: number }[];
}
interface Details {
  pbx: {
    id: string;
    region: string;
    cds: { state: CdsState; usedBytes: number; usageByCategory: { category: DataCategory; usedBytes: number; itemCount: number }[] };
    migrations: { status: MigrationStatus }[];
  };
}

const P1 = serial(1, 'b4'); // ov-a network, eu-central-1, CLOUD 6.05: migrating by itself
const P2 = serial(2, 'b4'); // ov-a network, eu-central-1, CLOUD 6.04: not activated
const P3 = serial(3, 'b4'); // ov-a network, eu-central-1, VIRTUAL: migrated, ACTIVE
const Q1 = serial(4, 'b4'); // ov-b standalone, us-east-1, HARDWARE: migration failed
const Q2 = serial(5, 'b4'); // ov-b standalone, us-east-1, VIRTUAL: migrated, ACTIVE
const Q3 = serial(6, 'b4'); // ov-b standalone, us-east-1, CLOUD 6.10: migrating by itself
const R1 = serial(7, 'b4'); // ov-b standalone, ap-south-1: seeded ACTIVE with every category, one old completed run
const ALL = [P1, P2, P3, Q1, Q2, Q3, R1];

describe('cdsOverview', () => {
  let stack: TestStack;
  const objects = new TestObjectStore();

  async function migrate(
    pbx: string,
    region: string,
    items: { category: string; path: string; size: number }[],
    outcome: 'complete' | 'fail',
  ) {
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx }, tokens.admin());
    const inventory = ['CALL_RECORDINGS', 'BACKUPS'].map((category) => {
      const mine = items.filter((i) => i.category === category);
      return { category, itemsTotal: mine.length + (outcome === 'fail' ? 1 : 0), bytesTotal: mine.reduce((s, i) => s + i.size, 0) };
    });
    const {
      beginMigrationRun: { runToken },
    } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(BEGIN, { id: migration.id, inventory }, tokens.pbx(pbx));
    const reported = { id: migration.id, token: runToken, items: items.map((i) => objects.put(pbx, region, i.category, i.path, i.size)) };
    await reportUntilVerified(() => stack.gql(REPORT, reported, tokens.pbx(pbx)));
    if (outcome === 'complete') await stack.ok(COMPLETE, { id: migration.id, token: runToken }, tokens.pbx(pbx));
    else await stack.ok(FAIL, { id: migration.id, token: runToken, error: 'a backup could not be read' }, tokens.pbx(pbx));
  }

  beforeAll(async () => {
    process.env.CDS_STORES = objects.setting;
    stack = await startTestStack({ keepStatements: true });
    delete process.env.CDS_STORES;
    await createCustomer(stack, 'ov-a');
    await createNetwork(stack, 'ov-a', 'ov-net');
    await registerPbx(stack, { id: P1, customerId: 'ov-a', networkId: 'ov-net', kind: 'CLOUD' as never, wmsVersion: '6.05.20231120.1' });
    await registerPbx(stack, { id: P2, customerId: 'ov-a', networkId: 'ov-net', kind: 'CLOUD' as never, wmsVersion: '6.04.20230901.1' });
    await registerPbx(stack, { id: P3, customerId: 'ov-a', networkId: 'ov-net', kind: 'VIRTUAL' as never, wmsVersion: '6.05.20231120.1' });
    await createCustomer(stack, 'ov-b');
    await registerPbx(stack, { id: Q1, customerId: 'ov-b', kind: 'HARDWARE' as never, wmsVersion: '6.05', region: 'us-east-1' });
    await registerPbx(stack, { id: Q2, customerId: 'ov-b', kind: 'VIRTUAL' as never, wmsVersion: '6.05', region: 'us-east-1' });
    await registerPbx(stack, { id: Q3, customerId: 'ov-b', kind: 'CLOUD' as never, wmsVersion: '6.10', region: 'us-east-1' });
    await registerPbx(stack, { id: R1, customerId: 'ov-b', kind: 'VIRTUAL' as never, wmsVersion: '6.05', region: 'ap-south-1' });
    await stack.settle();

    await migrate(
      P3,
      'eu-central-1',
      [
        { category: 'CALL_RECORDINGS', path: 'recordings/1.wav', size: 1_000 },
        { category: 'CALL_RECORDINGS', path: 'recordings/2.wav', size: 2_500 },
        { category: 'BACKUPS', path: 'backups/full.tar', size: 40_000 },
      ],
      'complete',
    );
    // above 2^31 bytes (a 32-bit integer would overflow); the object is sparse, CDS still reads all of it to verify
    await migrate(Q2, 'us-east-1', [{ category: 'BACKUPS', path: 'backups/b.tar', size: 2_500_000_000 }], 'complete');
    await migrate(Q1, 'us-east-1', [{ category: 'BACKUPS', path: 'backups/ok.tar', size: 10 }], 'fail');
    await seedStorage(stack.subgraphs.storage.runtime.db, {
      status: [{ pbxId: R1, state: CdsState.ACTIVE, region: 'ap-south-1', activatedAt: new Date('2024-03-01T00:00:00Z') }],
      usage: [
        { pbxId: R1, category: DataCategory.CALL_RECORDINGS, usedBytes: 300, itemCount: 3 },
        { pbxId: R1, category: DataCategory.BACKUPS, usedBytes: 4_000, itemCount: 1 },
        { pbxId: R1, category: DataCategory.VOICEMAILS, usedBytes: 55, itemCount: 5 },
      ],
      migrations: [
        {
          pbxId: R1,
          status: MigrationStatus.COMPLETED,
          trigger: MigrationTrigger.ADMIN_SCRIPT,
          region: 'ap-south-1',
          startedAt: new Date('2024-03-01T00:00:00Z'),
          finishedAt: new Date('2024-03-01T01:00:00Z'),
        },
      ],
    });
    await stack.settle();
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
    objects.remove();
  });

  /** The overview as the per-PBX operations show it: PbxDetails per PBX, the network's PBXs as NetworkDashboard has them. */
  async function expectedFrom(pbxIds: string[]): Promise<Omit<Overview, 'region'>> {
    const details = await Promise.all(pbxIds.map(async (id) => (await stack.ok<Details>(DETAILS, { pbxId: id }, tokens.admin())).pbx));
    const dashboard = await stack.ok<{ network: { pbxs: { id: string; cds: { state: CdsState; usedBytes: number } }[] } }>(DASHBOARD, {
      networkId: 'ov-net',
    });
    for (const pbx of dashboard.network.pbxs.filter((p) => pbxIds.includes(p.id))) {
      const shown = details.find((d) => d.id === pbx.id)!;
      expect(pbx.cds).toEqual({ ...pbx.cds, state: shown.cds.state, usedBytes: shown.cds.usedBytes });
    }
    return {
      pbxCount: details.length,
      usedBytes: details.reduce((sum, d) => sum + d.cds.usedBytes, 0),
      byState: Object.values(CdsState).map((state) => ({ state, pbxCount: details.filter((d) => d.cds.state === state).length })),
      byCategory: Object.values(DataCategory).map((category) => {
        const rows = details.map((d) => d.cds.usageByCategory.find((u) => u.category === category)!);
        return { category, usedBytes: rows.reduce((s, r) => s + r.usedBytes, 0), itemCount: rows.reduce((s, r) => s + r.itemCount, 0) };
      }),
      migrationsByStatus: Object.values(MigrationStatus).map((status) => ({
        status,
        count: details.reduce((s, d) => s + d.migrations.filter((m) => m.status === status).length, 0),
      })),
    };
  }

  it('sums what PbxDetails and NetworkDashboard show, fleet-wide, every state, category and status listed', async () => {
    const { cdsOverview } = await stack.ok<{ cdsOverview: Overview }>(OVERVIEW, {}, tokens.analyst());
    expect(cdsOverview).toEqual({ region: null, ...(await expectedFrom(ALL)) });
    // And the figures themselves, so the comparison cannot pass on two empty answers.
    expect(cdsOverview.pbxCount).toBe(7);
    expect(cdsOverview.usedBytes).toBe(43_500 + 2_500_000_000 + 4_355);
    expect(cdsOverview.byState).toEqual([
      { state: 'NOT_ACTIVATED', pbxCount: 1 },
      { state: 'MIGRATING', pbxCount: 2 },
      { state: 'ACTIVE', pbxCount: 3 },
      { state: 'MIGRATION_FAILED', pbxCount: 1 },
    ]);
    expect(cdsOverview.byCategory).toEqual([
      { category: 'CALL_RECORDINGS', usedBytes: 3_800, itemCount: 5 },
      { category: 'BACKUPS', usedBytes: 2_500_044_000, itemCount: 3 },
      { category: 'VOICEMAILS', usedBytes: 55, itemCount: 5 },
      { category: 'FAXES', usedBytes: 0, itemCount: 0 },
    ]);
    expect(cdsOverview.migrationsByStatus).toEqual([
      { status: 'QUEUED', count: 2 },
      { status: 'RUNNING', count: 0 },
      { status: 'COMPLETED', count: 3 },
      { status: 'FAILED', count: 1 },
    ]);
  });

  it('narrows to the PBXs of one region', async () => {
    for (const [region, pbxs] of [
      ['eu-central-1', [P1, P2, P3]],
      ['us-east-1', [Q1, Q2, Q3]],
      ['ap-south-1', [R1]],
    ] as const) {
      const { cdsOverview } = await stack.ok<{ cdsOverview: Overview }>(OVERVIEW, { region }, tokens.analyst());
      expect(cdsOverview).toEqual({ region, ...(await expectedFrom([...pbxs])) });
    }
    // A region without PBXs: zeros, everything still listed; the name is normalised.
    const { cdsOverview: empty } = await stack.ok<{ cdsOverview: Overview }>(OVERVIEW, { region: ' SA-EAST-1 ' }, tokens.admin());
    expect(empty).toEqual({ region: 'sa-east-1', ...(await expectedFrom([])) });
    expect(empty.byState.map((s) => s.pbxCount)).toEqual([0, 0, 0, 0]);
    const bad = await stack.gql(OVERVIEW, { region: 'Frankfurt' }, tokens.analyst());
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('is for admins and analysts only', async () => {
    for (const token of [tokens.partner(['ov-a', 'ov-b']), tokens.pbx(P1)]) {
      const refused = await stack.gql(OVERVIEW, {}, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(refused.data ?? null).toBeNull();
    }
    expect((await stack.gql(OVERVIEW, {}, null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('costs the storage subgraph one statement', async () => {
    const counter = stack.subgraphs.storage.runtime.counter;
    counter.reset();
    await stack.ok(OVERVIEW, { region: 'us-east-1' }, tokens.analyst());
    expect(counter.statements).toHaveLength(1);
    expect(counter.statements[0]).toMatch(/GROUP BY/);
  });

  it("answers the contract's AnalystOverview in one request, bundle distribution included", async () => {
    const result = await stack.gql<{
      cdsOverview: Overview;
      bundleDistribution: { tier: { code: string }; networks: number; standalonePbxs: number }[];
    }>(contractDocument('AnalystOverview.graphql'), { region: 'us-east-1' }, tokens.analyst());
    expect(result.errors).toBeUndefined();
    expect(result.data!.cdsOverview.pbxCount).toBe(3);
    const tiers = result.data!.bundleDistribution;
    expect(tiers.map((t) => t.tier.code)).toEqual(['DEFAULT', 'CDS-10', 'CDS-50', 'CDS-500', 'CDS-5000']);
    // us-east-1 holds three standalone PBXs and no network.
    expect(tiers.reduce((s, t) => s + t.standalonePbxs, 0)).toBe(3);
    expect(tiers.reduce((s, t) => s + t.networks, 0)).toBe(0);
  });
});
