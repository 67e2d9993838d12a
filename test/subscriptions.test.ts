import { createClient as createSseClient } from 'graphql-sse';
import { signToken } from '../kernel/identity';
import { contractDocument, contractOperation } from './support/operations';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';
import { TestObjectStore } from './support/objects';
import { subscribeWs } from './support/subscriptions';
import { PbxKind } from '../kernel/domain/enums';

const PROGRESS = contractDocument('MigrationProgress.graphql');
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT = `mutation ($id: ID!, $token: String!, $items: [VerifiedItemInput!]!) { reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status } }`;

interface Progress {
  migrationProgress: {
    migration: {
      id: string;
      status: string;
      itemsDone: number;
      itemsTotal: number;
      percent: number;
      pbx: {
        id: string;
        name: string;
        network: { id: string; name: string } | null;
        bundle: { tier: { code: string } };
        cds: { state: string };
      };
    };
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CDS verifies every reported object: the tests store them where the stack's CDS store keeps them. */
const objects = new TestObjectStore();

/** Drives one migration the way the agent does: N items, one report each, `gapMs` apart. */
async function migrate(stack: TestStack, pbx: string, items: number, gapMs: number): Promise<string> {
  const {
    activateCompanyDataStorage: { migration },
  } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx }, tokens.admin());
  const {
    beginMigrationRun: { runToken },
  } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(
    BEGIN,
    { id: migration.id, inventory: [{ category: 'BACKUPS', itemsTotal: items, bytesTotal: items * 10 }] },
    tokens.admin(),
  );
  for (let i = 0; i < items; i++) {
    await sleep(gapMs);
    const path = `backups/${i}`;
    await stack.ok(
      REPORT,
      {
        id: migration.id,
        token: runToken,
        items: [objects.put(pbx, 'eu-central-1', 'BACKUPS', path, 10)],
      },
      tokens.admin(),
    );
  }
  await sleep(gapMs);
  await stack.ok(COMPLETE, { id: migration.id, token: runToken }, tokens.admin());
  return migration.id;
}

describe('MigrationProgress subscription through the gateway', () => {
  let stack: TestStack;
  const mine = serial(1, 'f1');
  const other = serial(2, 'f1');

  beforeAll(async () => {
    process.env.CDS_STORES = objects.setting;
    // CDS reads the 4.9 GB backup below to verify it: give the storage subgraph time for it, and the report time to wait for it.
    process.env.CDS_STORE_WAIT_MS = '110000';
    stack = await startTestStack({ coalesceMs: 50, env: { SUBGRAPH_TIMEOUT_MS: '120000' } });
    delete process.env.CDS_STORES;
    delete process.env.CDS_STORE_WAIT_MS;
    await createCustomer(stack, 'sub-a');
    await createCustomer(stack, 'sub-b');
    await createNetwork(stack, 'sub-a', 'sub-a-net', 'Sub A Net');
    await registerPbx(stack, {
      id: mine,
      customerId: 'sub-a',
      networkId: 'sub-a-net',
      kind: PbxKind.VIRTUAL,
      wmsVersion: '6.05',
      name: 'mine.wildixin.com',
    });
    await registerPbx(stack, { id: other, customerId: 'sub-b', kind: PbxKind.HARDWARE, wmsVersion: '6.05' });
    await stack.settle();
  });
  afterAll(async () => {
    await stack?.stop();
    objects.remove();
  });

  it('delivers progress in order and the terminal event once, with fields of several subgraphs', async () => {
    const partner = subscribeWs<Progress>(stack.gatewayUrl, tokens.partner(['sub-a']), PROGRESS, { customerId: 'sub-a' });
    const byPbx = subscribeWs<Progress>(stack.gatewayUrl, tokens.pbx(mine), PROGRESS, { pbxId: mine });
    await sleep(200);
    const migrationId = await migrate(stack, mine, 4, 150);
    for (const received of [partner, byPbx]) {
      const results = await received.until((r) => r.some((p) => p.migrationProgress.migration.status === 'COMPLETED'));
      const statuses = results.map((r) => r.migrationProgress.migration.status);
      expect(statuses.filter((s) => s === 'COMPLETED')).toHaveLength(1);
      expect(statuses.at(-1)).toBe('COMPLETED');
      const done = results.map((r) => r.migrationProgress.migration.itemsDone);
      expect(done).toEqual([...done].sort((a, b) => a - b)); // in order
      expect(new Set(done).size).toBeGreaterThanOrEqual(4); // every step was seen (they were 150 ms apart)
      const last = results.at(-1)!.migrationProgress.migration;
      expect(last).toMatchObject({
        id: migrationId,
        percent: 100,
        itemsDone: 4,
        itemsTotal: 4,
        pbx: {
          id: mine,
          name: 'mine.wildixin.com',
          network: { id: 'sub-a-net', name: 'Sub A Net' },
          bundle: { tier: { code: 'DEFAULT' } },
          cds: { state: 'ACTIVE' },
        },
      });
      await received.dispose();
    }
  });

  it("never lets a partner watch, or receive, another customer's migrations", async () => {
    const refused = subscribeWs<Progress>(stack.gatewayUrl, tokens.partner(['sub-a']), PROGRESS, { pbxId: other });
    await sleep(300);
    expect(refused.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(refused.errors)).toMatch(/FORBIDDEN/);
    await refused.dispose();

    const watching = subscribeWs<Progress>(stack.gatewayUrl, tokens.partner(['sub-a']), PROGRESS, { customerId: 'sub-a' });
    const admin = subscribeWs<Progress>(stack.gatewayUrl, tokens.admin(), PROGRESS, { customerId: 'sub-b' });
    await sleep(200);
    await migrate(stack, other, 1, 20);
    await admin.until((r) => r.some((p) => p.migrationProgress.migration.status === 'COMPLETED'));
    await sleep(300);
    expect(watching.results).toEqual([]);
    await watching.dispose();
    await admin.dispose();
  });

  it('refuses bad arguments and connections without a token', async () => {
    const twoFilters = subscribeWs<Progress>(stack.gatewayUrl, tokens.admin(), PROGRESS, { pbxId: mine, customerId: 'sub-a' });
    await sleep(300);
    expect(JSON.stringify(twoFilters.errors)).toMatch(/exactly one of pbxId, networkId or customerId/);
    await twoFilters.dispose();
    const anonymous = subscribeWs<Progress>(stack.gatewayUrl, null, PROGRESS, { customerId: 'sub-a' });
    await sleep(300);
    expect(anonymous.closed?.code).toBe(4403);
    await anonymous.dispose();
  });

  it('ends the subscription when the token expires', async () => {
    const shortLived = signToken(TEST_SECRET, { sub: 'short', role: 'admin' }, 2);
    const received = subscribeWs<Progress>(stack.gatewayUrl, shortLived, PROGRESS, { customerId: 'sub-a' });
    await sleep(3000);
    expect(JSON.stringify(received.errors)).toMatch(/expired/);
    expect(received.completed || received.errors.length > 0).toBe(true);
    await received.dispose();
  });

  it('serves the same subscription over Server-Sent Events', async () => {
    const pbx = serial(3, 'f1');
    await registerPbx(stack, { id: pbx, customerId: 'sub-a', kind: PbxKind.VIRTUAL, wmsVersion: '6.05' });
    await stack.settle();
    const client = createSseClient({
      url: `${stack.gatewayUrl}/stream`,
      headers: { authorization: `Bearer ${tokens.admin()}` },
      retryAttempts: 0,
    });
    const statuses: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe<Progress['migrationProgress'] extends infer _ ? Record<string, unknown> : never>(
        { query: PROGRESS, variables: { pbxId: pbx } },
        {
          next: (value) => {
            const status = (value.data as unknown as Progress | undefined)?.migrationProgress.migration.status;
            if (status) statuses.push(status);
            if (status === 'COMPLETED') {
              stop();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    await sleep(300);
    await migrate(stack, pbx, 2, 100);
    await done;
    client.dispose();
    expect(statuses.at(-1)).toBe('COMPLETED');
  });

  it("delivers storage alerts (rule 10) to the holder's watchers only", async () => {
    const pbx = serial(4, 'f1');
    await registerPbx(stack, { id: pbx, customerId: 'sub-a', kind: PbxKind.VIRTUAL, wmsVersion: '6.05' });
    await stack.settle();
    const ALERTS = `subscription ($pbxId: ID, $customerId: ID) { storageAlerts(pbxId: $pbxId, customerId: $customerId) {
      alert { id holderType active raisedAt storage { usedBytes capacityBytes usageRatio } pbx { id name } network { id } } } }`;
    const watcher = subscribeWs<{ storageAlerts: { alert: Record<string, unknown> } }>(
      stack.gatewayUrl,
      tokens.partner(['sub-a']),
      ALERTS,
      { pbxId: pbx },
    );
    const outsider = subscribeWs<unknown>(stack.gatewayUrl, tokens.partner(['sub-b']), ALERTS, { customerId: 'sub-b' });
    await sleep(300);
    // 4.9 GB verified into the DEFAULT 5 GB: 98% of capacity.
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx }, tokens.admin());
    const {
      beginMigrationRun: { runToken },
    } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(
      BEGIN,
      { id: migration.id, inventory: [{ category: 'BACKUPS', itemsTotal: 1, bytesTotal: 4_900_000_000 }] },
      tokens.admin(),
    );
    await stack.ok(
      REPORT,
      {
        id: migration.id,
        token: runToken,
        items: [objects.put(pbx, 'eu-central-1', 'BACKUPS', 'backups/big.tar', 4_900_000_000)],
      },
      tokens.admin(),
    );
    await stack.ok(COMPLETE, { id: migration.id, token: runToken }, tokens.admin());
    const [event] = await watcher.until((r) => r.length > 0);
    expect(event.storageAlerts.alert).toMatchObject({
      id: `PBX:${pbx}`,
      holderType: 'PBX',
      active: true,
      storage: { usedBytes: 4_900_000_000, capacityBytes: 5_000_000_000, usageRatio: 0.98 },
      pbx: { id: pbx },
      network: null,
    });
    await sleep(300);
    expect(watcher.results).toHaveLength(1); // raised once
    expect(outsider.results).toEqual([]);
    await watcher.dispose();
    await outsider.dispose();
  });
});
