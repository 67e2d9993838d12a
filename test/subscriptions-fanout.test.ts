import fs from 'node:fs';
import path from 'node:path';
import { PbxKind } from '../kernel/domain/enums';
import { RedisStreamBus } from '../kernel/events/redis-bus';
import { createTokenVerifier } from '../kernel/identity';
import { RunningSubgraph, startSubgraph } from '../kernel/subgraph';
import { databaseFor } from '../dev/stack';
import { RunningGateway, startGateway } from '../gateway/server';
import { storageSubgraph } from '../subgraphs/storage/schema';
import { contractDocument, contractOperation } from './support/operations';
import { createCustomer, registerPbx, serial } from './support/fixtures';
import { postGraphQL, startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';
import { TestObjectStore } from './support/objects';
import { Received, subscribeWs } from './support/subscriptions';

/**
 * Two gateways and two storage subgraphs on Redis: every subscriber, on either
 * gateway, gets every event once, in order per migration, whichever storage
 * instance handled the change.
 */
const PROGRESS = contractDocument('MigrationProgress.graphql');
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT = `mutation ($id: ID!, $token: String!, $items: [VerifiedItemInput!]!) { reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
const COMPLETE = `mutation ($id: ID!, $token: String!) { completeMigration(migrationId: $id, runToken: $token) { status } }`;
interface Progress {
  migrationProgress: { migration: { id: string; status: string; itemsDone: number } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CDS verifies every reported object: the tests store them where both storage instances' CDS store keeps them. */
const objects = new TestObjectStore();

describe('subscriptions across two gateways and two storage subgraphs on Redis', () => {
  let stack: TestStack;
  let storage2: RunningSubgraph;
  let gateway2: RunningGateway;
  const buses: RedisStreamBus[] = [];

  beforeAll(async () => {
    process.env.CDS_STORES = objects.setting;
    stack = await startTestStack({ redis: true, coalesceMs: 30 });
    const redis = stack.redis!;
    const verifier = createTokenVerifier({ secret: TEST_SECRET });
    const bus = () => {
      const b = new RedisStreamBus(redis.url, redis.stream);
      buses.push(b);
      return b;
    };
    storage2 = await startSubgraph(storageSubgraph, {
      port: 0,
      host: '127.0.0.1',
      db: databaseFor(stack.db, 'storage'),
      bus: bus(),
      verifier,
    });
    gateway2 = await startGateway({
      port: 0,
      host: '127.0.0.1',
      verifier,
      bus: bus(),
      coalesceMs: 30,
      supergraphSdl: fs.readFileSync(path.join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'),
      subgraphUrls: { ...Object.fromEntries(Object.values(stack.subgraphs).map((s) => [s.name, s.url])), storage: storage2.url },
    });
    await createCustomer(stack, 'fan');
    delete process.env.CDS_STORES;
    for (const n of [1, 2]) await registerPbx(stack, { id: serial(n, 'fa'), customerId: 'fan', kind: PbxKind.VIRTUAL, wmsVersion: '6.05' });
    await stack.settle();
  });
  afterAll(async () => {
    await gateway2?.stop();
    await storage2?.stop();
    for (const b of buses) await b.close();
    await stack?.stop();
    objects.remove();
  });

  it('gets every event once and in order on both gateways', async () => {
    const gateways = [stack.gatewayUrl, gateway2.url];
    const subscribers: Received<Progress>[] = [];
    for (const url of gateways)
      for (let i = 0; i < 3; i++) subscribers.push(subscribeWs<Progress>(url, tokens.admin(), PROGRESS, { customerId: 'fan' }));
    await sleep(300);

    // Each step goes through the other gateway (and so the other storage instance) than the one before.
    let turn = 0;
    const via = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
      const result = await postGraphQL<T>(gateways[turn++ % 2], query, variables, tokens.admin());
      if (result.errors) throw new Error(JSON.stringify(result.errors));
      return result.data as T;
    };
    const steps = 5;
    const run = async (pbx: string) => {
      const {
        activateCompanyDataStorage: { migration },
      } = await via<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx });
      const {
        beginMigrationRun: { runToken },
      } = await via<{ beginMigrationRun: { runToken: string } }>(BEGIN, {
        id: migration.id,
        inventory: [{ category: 'BACKUPS', itemsTotal: steps, bytesTotal: steps }],
      });
      for (let i = 0; i < steps; i++) {
        await sleep(120);
        await via(REPORT, {
          id: migration.id,
          token: runToken,
          items: [objects.put(pbx, 'eu-central-1', 'BACKUPS', `backups/${i}`, 1)],
        });
      }
      await sleep(120);
      await via(COMPLETE, { id: migration.id, token: runToken });
      return migration.id;
    };
    const ids = await Promise.all([run(serial(1, 'fa')), run(serial(2, 'fa'))]);

    for (const subscriber of subscribers) {
      await subscriber.until(
        (r) =>
          ids.every((id) => r.some((p) => p.migrationProgress.migration.id === id && p.migrationProgress.migration.status === 'COMPLETED')),
        15_000,
      );
      for (const id of ids) {
        const mine = subscriber.results.map((r) => r.migrationProgress.migration).filter((m) => m.id === id);
        const done = mine.map((m) => m.itemsDone);
        expect(done).toEqual([...done].sort((a, b) => a - b)); // in order
        const states = mine.map((m) => `${m.status}:${m.itemsDone}`);
        expect(new Set(states).size).toBe(states.length); // each state once
        expect([...new Set(done.filter((d) => d > 0))]).toEqual([1, 2, 3, 4, 5]); // every step arrived
        expect(mine.filter((m) => m.status === 'COMPLETED')).toHaveLength(1);
        expect(mine.at(-1)!.status).toBe('COMPLETED');
      }
      await subscriber.dispose();
    }
  });
});
