import { PbxKind } from '../kernel/domain/enums';
import { testConfig } from '../kernel/config';
import { createTokenVerifier } from '../kernel/identity';
import { InboxEvent, OutboxEvent, OutboxRelay } from '../kernel/events/outbox';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { RunningSubgraph, startSubgraph } from '../kernel/subgraph';
import { databaseFor } from '../dev/stack';
import { CONSUMER_GROUPS, SUBGRAPHS } from '../subgraphs';
import { TestObjectStore } from './support/objects';
import { contractOperation } from './support/operations';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';
import { OwnRedis } from './support/redis-server';

const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT_ITEMS = `mutation ($pbx: ID!, $id: ID!, $token: String!, $items: [VerifiedItemInput!]!, $recordings: [MigratedRecordingInput!]!) {
  registerRecordings(pbxId: $pbx, migrationId: $id, recordings: $recordings) { registered }
  reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status finishedAt } }`;
const RECORDINGS = `query ($id: ID!) { pbx(id: $id) { recordings { edges { node { location localCopyExpiresAt } } } } }`;

const objects = new TestObjectStore();
/** Writes a file's object into the CDS store of eu-central-1 under the key CDS gives it. */
const store = (sourcePath: string, size: number) => {
  const { objectKey, sha256, sizeBytes } = objects.put(serial(1, 'e1'), 'eu-central-1', 'CALL_RECORDINGS', sourcePath, size);
  return { objectKey, sha256, sizeBytes };
};

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Events that heal (docs/events.md, "When the bus fails"), on the real stack
 * with a Redis of the test's own: the recordings subgraph is down while a
 * migration completes, Redis restarts empty in the middle (every stream entry
 * and consumer group gone), a PBX is registered while Redis is down. Nobody is
 * restarted but the subgraph that was down: every consumer recovers by
 * itself, every event is applied exactly once, and the outboxes and stream
 * are emptied once every group has acknowledged.
 */
describe('events heal', () => {
  let redis: OwnRedis;
  let stack: TestStack;
  let recordings: RunningSubgraph | null = null;
  let recordingsBus: RedisStreamBus | null = null;
  const vm = serial(1, 'e1');
  const late = serial(2, 'e1');

  beforeAll(async () => {
    process.env.CDS_STORES = objects.settingFor(['eu-central-1']);
    redis = await OwnRedis.start();
    // Lost events are noticed, and acknowledged rows pruned, within a fraction of a second.
    stack = await startTestStack({ redisUrl: redis.url, claimIdleMs: 500, tailGraceMs: 0, env: { EVENT_MAINTENANCE_MS: '200' } });
    await createCustomer(stack, 'heal-co');
    await createNetwork(stack, 'heal-co', 'heal-net');
    await registerPbx(stack, {
      id: vm,
      customerId: 'heal-co',
      networkId: 'heal-net',
      kind: PbxKind.VIRTUAL,
      wmsVersion: '6.05.20231120.1',
    });
    await stack.settle();
  }, 60_000);
  afterAll(async () => {
    await recordings?.stop();
    await recordingsBus?.close();
    await stack?.stop();
    await redis?.down();
    delete process.env.CDS_STORES;
    objects.remove();
  });

  it('delivers and applies every event exactly once through a consumer outage and an empty Redis restart', async () => {
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: vm }, tokens.pbx(vm));
    const inventory = [{ category: 'CALL_RECORDINGS', itemsTotal: 2, bytesTotal: 300 }];
    const {
      beginMigrationRun: { runToken },
    } = await stack.ok<{ beginMigrationRun: { runToken: string } }>(BEGIN, { id: migration.id, inventory }, tokens.pbx(vm));
    const files = [
      ['recordings/a.wav', 100],
      ['recordings/b.wav', 200],
    ] as const;
    await stack.ok(
      REPORT_ITEMS,
      {
        pbx: vm,
        id: migration.id,
        token: runToken,
        // Stored in CDS under the keys CDS chooses (it verifies every reported object).
        items: files.map(([path, size]) => ({ category: 'CALL_RECORDINGS', sourcePath: path, ...store(path, size) })),
        recordings: files.map(([path, size]) => ({
          sourcePath: path,
          callId: path,
          startedAt: '2024-05-01T10:00:00Z',
          durationSeconds: 30,
          caller: '+100',
          callee: '+200',
          ...store(path, size),
        })),
      },
      tokens.pbx(vm),
    );
    await stack.settle();

    // The recordings subgraph goes down (a consumer down for a while).
    const recordingsPort = stack.subgraphs.recordings.http.port;
    await stack.subgraphs.recordings.stop();

    // The migration completes: MigrationCompleted waits in the stream for recordings.
    const done = await stack.ok<{ completeMigration: { status: string; finishedAt: string } }>(
      COMPLETE,
      { id: migration.id, token: runToken },
      tokens.pbx(vm),
    );
    expect(done.completeMigration.status).toBe('COMPLETED');
    const storage = stack.subgraphs.storage.runtime;
    await until(
      async () => (await storage.db.getRepository(OutboxEvent).findOneBy({ type: 'MigrationCompleted' }))?.publishedAt != null,
      'MigrationCompleted to be published',
    );

    // Redis dies with everything it held.
    await redis.down();
    // A mutation while the bus is down: the change is made, the answer says so (never data: null without an error).
    const registered = await stack.gql<{ registerPbx: { pbx: { id: string } } }>(
      `mutation ($input: RegisterPbxInput!) { registerPbx(input: $input) { pbx { id } } }`,
      {
        input: {
          id: late,
          name: 'late.wildixin.com',
          kind: 'CLOUD',
          wmsVersion: '6.04.20230901.1',
          region: 'eu-central-1',
          customerId: 'heal-co',
          networkId: 'heal-net',
        },
      },
    );
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.registerPbx.pbx.id).toBe(late);
    await redis.up(); // empty: no stream, no groups, no epoch

    // The subgraph that was down comes back (same database, same port).
    recordings = await startSubgraph(SUBGRAPHS.recordings, {
      port: recordingsPort,
      host: '127.0.0.1',
      db: databaseFor(stack.db, 'recordings'),
      bus: (recordingsBus = new RedisStreamBus(redis.url, stack.redis!.stream, {
        expectedGroups: CONSUMER_GROUPS,
        claimIdleMs: 500,
        tailGraceMs: 0,
      })),
      verifier: createTokenVerifier({ secret: TEST_SECRET }),
      settings: { ...process.env, JWT_SECRET: TEST_SECRET },
      config: testConfig({ EVENT_MAINTENANCE_MS: '200' }),
    });

    // Everything arrives: rule 5 in recordings, the late PBX in every replica, usage in licensing.
    await until(async () => {
      const page = await stack.ok<{ pbx: { recordings: { edges: { node: { location: string } }[] } } }>(
        RECORDINGS,
        { id: vm },
        tokens.pbx(vm),
      );
      return page.pbx.recordings.edges.length === 2 && page.pbx.recordings.edges.every((e) => e.node.location === 'CDS_WITH_LOCAL_COPY');
    }, 'recordings to get their CDS copy (MigrationCompleted)');
    await until(async () => {
      const pbx = await stack.gql<{ pbx: { cds: { state: string }; staticIpUsage: unknown; recordings: unknown } }>(
        `query ($id: ID!) { pbx(id: $id) { cds { state } staticIpUsage { allowance } recordings { totalCount } } }`,
        { id: late },
      );
      return (
        !pbx.errors &&
        pbx.data?.pbx.cds.state === 'NOT_ACTIVATED' &&
        pbx.data.pbx.staticIpUsage !== null &&
        pbx.data.pbx.recordings !== null
      );
    }, 'the PBX registered while Redis was down to reach every replica');
    await until(
      async () =>
        (await stack.ok<{ network: { storage: { usedBytes: number } } }>(`{ network(id: "heal-net") { storage { usedBytes } } }`)).network
          .storage.usedBytes === 300,
      'usage to reach licensing',
    );

    // Exactly once: every event a consumer applies is in its inbox once, and its effect is there once.
    const page = await stack.ok<{ pbx: { recordings: { edges: { node: { localCopyExpiresAt: string } }[] } } }>(
      RECORDINGS,
      { id: vm },
      tokens.pbx(vm),
    );
    for (const { node } of page.pbx.recordings.edges) {
      expect(Date.parse(node.localCopyExpiresAt) - Date.parse(done.completeMigration.finishedAt)).toBe(7 * 24 * 3600 * 1000);
    }
    const inbox = await recordings.runtime.db.getRepository(InboxEvent).find({ where: { consumer: 'recordings' } });
    expect(new Set(inbox.map((row) => row.eventId)).size).toBe(inbox.length);

    // Nothing is left behind: each outbox is pruned and the stream trimmed once every group acknowledged.
    const runtimes = [
      ...Object.values(stack.subgraphs)
        .filter((s) => s.name !== 'recordings')
        .map((s) => s.runtime),
      recordings.runtime,
    ];
    await until(async () => {
      for (const runtime of runtimes) if ((await runtime.db.getRepository(OutboxEvent).count()) > 0) return false;
      return true;
    }, 'every outbox to be pruned');
    const admin = redis.client();
    try {
      await until(async () => (await admin.xlen(stack.redis!.stream)) === 0, 'the stream to be trimmed');
      expect(await admin.xlen(`${stack.redis!.stream}:dead-letter`)).toBe(0);
    } finally {
      admin.disconnect();
    }
  }, 90_000);

  it('prunes inbox rows older than the retention', async () => {
    const runtime = stack.subgraphs.storage.runtime;
    expect(await runtime.db.getRepository(InboxEvent).count()).toBeGreaterThan(0);
    await new OutboxRelay(runtime.db, runtime.bus, { inboxRetentionMs: 0 }).maintain();
    expect(await runtime.db.getRepository(InboxEvent).count()).toBe(0);
  });
});
