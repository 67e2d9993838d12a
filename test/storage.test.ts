import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { DatabaseConfig } from '../kernel/config';
import { CategoryState, CdsState, DataCategory, MigrationStatus, MigrationTrigger, PbxKind } from '../kernel/domain/enums';
import { EventPayloads, PbxSnapshot } from '../kernel/events/catalog';
import { EventEnvelope } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { createTokenVerifier, signToken } from '../kernel/identity';
import { RunningSubgraph, startSubgraph } from '../kernel/subgraph';
import { CdsUsage } from '../subgraphs/storage/entities/cds-usage';
import { StorageServices } from '../subgraphs/storage/context';
import { storageSubgraph } from '../subgraphs/storage/schema';
import { seedStorage } from '../subgraphs/storage/seed';

/**
 * The storage subgraph on its own (the whole stack needs every subgraph):
 * the directory is fed with the network's events on an in-process bus, the
 * storage rows come from the seed helper, and queries go to its /graphql,
 * `_entities` included, as the gateway sends them.
 */

const SECRET = 'test';
const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const token = {
  admin: signToken(SECRET, { sub: 'admin@test', role: 'admin' }),
  partner: (customers: string[]) => signToken(SECRET, { sub: 'partner@test', role: 'partner', customers }),
  pbx: (serial: string) => signToken(SECRET, { sub: `pbx:${serial}`, role: 'pbx', pbx: serial }),
};

type Errors = { message: string; extensions?: { code?: string } }[];
interface Result<T> {
  data?: T;
  errors?: Errors;
}

let storage: RunningSubgraph<StorageServices>;
let bus: MemoryBus;
let mysqlDatabase: string | null = null;
const published: EventEnvelope[] = [];

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  auth = token.admin,
): Promise<Result<T>> {
  const response = await fetch(storage.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Result<T>;
}

const PBX_FIELDS = `
  id
  cds { state region activatedAt usedBytes usageByCategory { category usedBytes itemCount } }
  currentMigration { id status trigger percent startedAt finishedAt }
  migrations {
    id status trigger percent itemsTotal itemsDone bytesTotal bytesDone startedAt finishedAt error
    categories { category state itemsTotal itemsDone bytesTotal bytesDone }
    pbx { id }
  }`;

interface PbxData {
  id: string;
  cds: {
    state: CdsState;
    region: string | null;
    activatedAt: string | null;
    usedBytes: number;
    usageByCategory: { category: DataCategory; usedBytes: number; itemCount: number }[];
  };
  currentMigration: { id: string; status: MigrationStatus; percent: number } | null;
  migrations: {
    id: string;
    status: MigrationStatus;
    percent: number;
    itemsTotal: number;
    bytesTotal: number;
    bytesDone: number;
    error: string | null;
    categories: { category: DataCategory; state: CategoryState }[];
    pbx: { id: string };
  }[];
}

async function pbxs(ids: string[], auth = token.admin): Promise<Result<{ _entities: (PbxData | null)[] }>> {
  return gql(
    `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pbx { ${PBX_FIELDS} } } }`,
    { r: ids.map((id) => ({ __typename: 'Pbx', id })) },
    auth,
  );
}

const serial = (n: number) => `5e${n.toString(16).padStart(10, '0')}`;
const A = serial(1); // customer c1, network n1: active, with usage and three migrations
const B = serial(2); // customer c1, network n1: its only migration failed
const C = serial(3); // customer c2, standalone: never activated
const FLEET = Array.from({ length: 12 }, (_, i) => serial(100 + i)); // customer c1, for statement counting
const at = (minutes: number) => new Date(Date.UTC(2024, 2, 1, 10, minutes));

function registered(
  pbx: Omit<PbxSnapshot, 'revision' | 'wmsVersion' | 'name'> & { wmsVersion?: string },
): EventEnvelope<EventPayloads['PbxRegistered']> {
  return {
    id: randomUUID(),
    type: 'PbxRegistered',
    key: pbx.id,
    source: 'network',
    occurredAt: new Date().toISOString(),
    payload: { pbx: { name: `${pbx.id}.wildixin.com`, wmsVersion: '6.04.20230901.1', revision: 1, ...pbx } },
  };
}

let migrationIds: string[];

beforeAll(async () => {
  let db: DatabaseConfig = { kind: 'sqlite', file: ':memory:' };
  if (process.env.TEST_DB === 'mysql') {
    mysqlDatabase = `t_storage_${randomBytes(4).toString('hex')}`;
    db = { kind: 'mysql', url: `${MYSQL_URL}/${mysqlDatabase}` };
  }
  bus = new MemoryBus();
  storage = await startSubgraph(storageSubgraph, {
    port: 0,
    host: '127.0.0.1',
    db,
    bus,
    verifier: createTokenVerifier({ secret: SECRET }),
    keepStatements: true,
  });
  await bus.consume('probe', async (event) => {
    published.push(event);
  });
  await bus.publish([
    registered({ id: A, kind: PbxKind.CLOUD, region: 'eu-central-1', customerId: 'c1', networkId: 'n1' }),
    registered({ id: B, kind: PbxKind.VIRTUAL, region: 'eu-west-1', customerId: 'c1', networkId: 'n1' }),
    registered({ id: C, kind: PbxKind.HARDWARE, region: 'us-east-1', customerId: 'c2', networkId: null }),
    ...FLEET.map((id) => registered({ id, kind: PbxKind.CLOUD, region: 'eu-central-1', customerId: 'c1', networkId: null })),
  ]);
  await storage.runtime.directory.catchUp();

  const running = (pbxId: string, minutes: number) => ({
    pbxId,
    status: MigrationStatus.RUNNING,
    trigger: MigrationTrigger.WMS_UPGRADE,
    region: 'eu-central-1',
    startedAt: at(minutes),
    categories: [
      {
        category: DataCategory.CALL_RECORDINGS,
        state: CategoryState.RUNNING,
        itemsTotal: 10,
        itemsDone: 4,
        bytesTotal: 800,
        bytesDone: 200,
      },
      { category: DataCategory.BACKUPS, state: CategoryState.PENDING, itemsTotal: 2, bytesTotal: 200 },
      { category: DataCategory.VOICEMAILS, itemsTotal: 7, bytesTotal: 5000 },
    ],
  });
  migrationIds = await seedStorage(storage.runtime.db, {
    status: [
      { pbxId: A, state: CdsState.MIGRATING, region: 'eu-central-1' },
      { pbxId: B, state: CdsState.MIGRATION_FAILED, region: 'eu-west-1' },
    ],
    usage: [
      { pbxId: A, category: DataCategory.CALL_RECORDINGS, usedBytes: 6_000_000_000, itemCount: 120 },
      { pbxId: A, category: DataCategory.BACKUPS, usedBytes: 4_000_000_000, itemCount: 3 },
    ],
    migrations: [
      // A: an old completed run, a failed one, and the newest one running.
      {
        pbxId: A,
        status: MigrationStatus.COMPLETED,
        trigger: MigrationTrigger.WMS_UPGRADE,
        region: 'eu-central-1',
        startedAt: at(0),
        finishedAt: at(5),
        categories: [
          {
            category: DataCategory.CALL_RECORDINGS,
            state: CategoryState.COMPLETED,
            itemsTotal: 1,
            itemsDone: 1,
            bytesTotal: 10,
            bytesDone: 10,
          },
        ],
      },
      {
        pbxId: A,
        status: MigrationStatus.FAILED,
        trigger: MigrationTrigger.WMS_UPGRADE,
        region: 'eu-central-1',
        startedAt: at(10),
        finishedAt: at(11),
        error: 'CDS was unreachable',
      },
      running(A, 20),
      // B: failed, nothing under way.
      {
        pbxId: B,
        status: MigrationStatus.FAILED,
        trigger: MigrationTrigger.ADMIN_SCRIPT,
        region: 'eu-west-1',
        startedAt: at(30),
        finishedAt: at(31),
        error: 'disk read error',
        categories: [{ category: DataCategory.BACKUPS, state: CategoryState.FAILED, itemsTotal: 4, itemsDone: 1 }],
      },
      ...FLEET.map((id, i) => running(id, 40 + i)),
    ],
  });
}, 60000);

afterAll(async () => {
  await storage?.stop();
  await bus?.close();
  if (mysqlDatabase) {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    await connection.query(`DROP DATABASE IF EXISTS \`${mysqlDatabase}\``);
    await connection.end();
  }
});

describe('storage subgraph', () => {
  test('a PBX with no CDS row is NOT_ACTIVATED, with every category at zero and no migrations', async () => {
    const { data, errors } = await pbxs([C]);
    expect(errors).toBeUndefined();
    expect(data!._entities[0]).toEqual({
      id: C,
      cds: {
        state: 'NOT_ACTIVATED',
        region: null,
        activatedAt: null,
        usedBytes: 0,
        usageByCategory: ['CALL_RECORDINGS', 'BACKUPS', 'VOICEMAILS', 'FAXES'].map((category) => ({
          category,
          usedBytes: 0,
          itemCount: 0,
        })),
      },
      currentMigration: null,
      migrations: [],
    });
  });

  test('CDS state, usage beyond 2^32 bytes, and migrations newest first', async () => {
    const { data, errors } = await pbxs([A, B]);
    expect(errors).toBeUndefined();
    const [a, b] = data!._entities as PbxData[];
    expect(a.cds).toMatchObject({ state: 'MIGRATING', region: 'eu-central-1', usedBytes: 10_000_000_000 });
    expect(a.cds.usageByCategory).toEqual([
      { category: 'CALL_RECORDINGS', usedBytes: 6_000_000_000, itemCount: 120 },
      { category: 'BACKUPS', usedBytes: 4_000_000_000, itemCount: 3 },
      { category: 'VOICEMAILS', usedBytes: 0, itemCount: 0 },
      { category: 'FAXES', usedBytes: 0, itemCount: 0 },
    ]);
    expect(a.migrations.map((m) => m.status)).toEqual(['RUNNING', 'FAILED', 'COMPLETED']);
    expect(a.migrations[1].error).toBe('CDS was unreachable');
    expect(a.migrations.every((m) => m.pbx.id === A)).toBe(true);
    // The running run: 200 of 1000 bytes that move; voicemails are counted apart and never move (rule 4).
    const current = a.migrations[0];
    expect(current).toMatchObject({ itemsTotal: 12, bytesTotal: 1000, bytesDone: 200, percent: 20 });
    expect(current.categories.map((c) => [c.category, c.state])).toEqual([
      ['CALL_RECORDINGS', 'RUNNING'],
      ['BACKUPS', 'PENDING'],
      ['VOICEMAILS', 'NOT_SUPPORTED_YET'],
      ['FAXES', 'NOT_SUPPORTED_YET'],
    ]);
    expect(a.migrations[2].percent).toBe(100);
    expect(a.currentMigration).toMatchObject({ id: current.id, status: 'RUNNING', percent: 20 });

    // B's only run failed: nothing is current, the list keeps the run; with no byte sizes percent goes by items.
    expect(b.cds.state).toBe('MIGRATION_FAILED');
    expect(b.currentMigration).toBeNull();
    expect(b.migrations).toHaveLength(1);
    expect(b.migrations[0]).toMatchObject({ status: 'FAILED', error: 'disk read error', percent: 25 });
  });

  test('the statements a request costs do not grow with the number of PBXs', async () => {
    const cost = async (ids: string[]) => {
      storage.runtime.counter.reset();
      const { data, errors } = await pbxs(ids);
      expect(errors).toBeUndefined();
      expect(data!._entities).toHaveLength(ids.length);
      // The outbox relay and the bus consumer run on their own timers; the counter leaves them out.
      return storage.runtime.counter.count;
    };
    const few = await cost(FLEET.slice(0, 2));
    const many = await cost([...FLEET, A, B, C]);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(7);
  });

  test('Query.migration: found, NOT_FOUND, and scoped', async () => {
    const query = `query ($id: ID!) { migration(id: $id) { id status percent pbx { id } } }`;
    const failedOfB = migrationIds[3];
    const found = await gql<{ migration: { id: string; pbx: { id: string } } }>(query, { id: failedOfB });
    expect(found.errors).toBeUndefined();
    expect(found.data!.migration).toEqual({ id: failedOfB, status: 'FAILED', percent: 25, pbx: { id: B } });

    const missing = await gql(query, { id: randomUUID() });
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');

    expect((await gql(query, { id: failedOfB }, token.partner(['c1']))).errors).toBeUndefined();
    expect((await gql(query, { id: failedOfB }, token.pbx(B))).errors).toBeUndefined();
    expect((await gql(query, { id: failedOfB }, token.partner(['c2']))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gql(query, { id: failedOfB }, token.pbx(A))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  test('_entities: unknown PBXs resolve to null, PBXs out of scope are refused, migrations resolve by id', async () => {
    const unknown = await pbxs([serial(999)]);
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data!._entities).toEqual([null]);

    const refused = await pbxs([C], token.partner(['c1']));
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await pbxs([C], token.pbx(C))).errors).toBeUndefined();

    const migration = await gql<{ _entities: ({ id: string; status: string } | null)[] }>(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Migration { id status } } }`,
      {
        r: [
          { __typename: 'Migration', id: migrationIds[0] },
          { __typename: 'Migration', id: randomUUID() },
        ],
      },
    );
    expect(migration.errors).toBeUndefined();
    expect(migration.data!._entities).toEqual([{ id: migrationIds[0], status: 'COMPLETED' }, null]);
  });

  test('recordUsage recomputes the total, bumps the revision and announces CdsUsageChanged', async () => {
    // C never had a CDS row: recording usage creates one (still NOT_ACTIVATED) and counts from revision 1.
    const first = await storage.runtime.transact(async (em) => {
      await em.save(CdsUsage, em.create(CdsUsage, { pbxId: C, category: DataCategory.BACKUPS, usedBytes: 1500, itemCount: 2 }));
      return storage.services.usage.recordUsage(em, C);
    });
    expect(first).toEqual({ pbxId: C, usedBytes: 1500, revision: 1 });
    const second = await storage.runtime.transact(async (em) => {
      await em.save(
        CdsUsage,
        em.create(CdsUsage, { pbxId: C, category: DataCategory.CALL_RECORDINGS, usedBytes: 9_007_199_254_000_000, itemCount: 1 }),
      );
      return storage.services.usage.recordUsage(em, C);
    });
    expect(second).toEqual({ pbxId: C, usedBytes: 9_007_199_254_001_500, revision: 2 });

    const { data } = await pbxs([C]);
    expect(data!._entities[0]!.cds).toMatchObject({ state: 'NOT_ACTIVATED', usedBytes: 9_007_199_254_001_500 });

    await storage.runtime.relay.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const announced = published.filter((e) => e.type === 'CdsUsageChanged').map((e) => e.payload);
    expect(announced).toEqual(expect.arrayContaining([first, second]));
    // The seed announced A's usage too, so licensing sees the demo figures.
    expect(announced).toEqual(expect.arrayContaining([{ pbxId: A, usedBytes: 10_000_000_000, revision: 2 }]));
  });
});
