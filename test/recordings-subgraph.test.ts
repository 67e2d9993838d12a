import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { DatabaseConfig } from '../kernel/config';
import { PbxKind, RecordingLocation } from '../kernel/domain/enums';
import { EventPayloads, PbxSnapshot } from '../kernel/events/catalog';
import { EventEnvelope } from '../kernel/events/envelope';
import { MemoryBus } from '../kernel/events/memory-bus';
import { createTokenVerifier, signToken } from '../kernel/identity';
import { RunningSubgraph, startSubgraph } from '../kernel/subgraph';
import { RecordingsServices } from '../subgraphs/recordings/context';
import { Recording } from '../subgraphs/recordings/entities/recording';
import { DAY_SEEK_MIN_OFFSET, RecordingQueries } from '../subgraphs/recordings/queries';
import { RecordingRegistration } from '../subgraphs/recordings/recordings';
import { localCopyExpiry, RecordingWindow } from '../subgraphs/recordings/rules';
import { recordingsSubgraph } from '../subgraphs/recordings/schema';
import { seedRecordings } from '../subgraphs/recordings/seed';
import { rebuildDayCounts } from '../subgraphs/recordings/day-counts';

/**
 * The recordings subgraph on its own: the directory is fed with the network's
 * events on an in-process bus, recordings come from the seed helper and from
 * registerRecordings, and queries go to its /graphql through `_entities`, as
 * the gateway sends them. TEST_DB=mysql runs it on MariaDB.
 */

const SECRET = 'test';
const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const token = {
  admin: signToken(SECRET, { sub: 'admin@test', role: 'admin' }),
  analyst: signToken(SECRET, { sub: 'analyst@test', role: 'analyst' }),
  partner: (customers: string[]) => signToken(SECRET, { sub: 'partner@test', role: 'partner', customers }),
  pbx: (serial: string) => signToken(SECRET, { sub: `pbx:${serial}`, role: 'pbx', pbx: serial }),
};

type Errors = { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
interface Result<T> {
  data?: T;
  errors?: Errors;
}

let recordings: RunningSubgraph<RecordingsServices>;
let bus: MemoryBus;
let mysqlDatabase: string | null = null;

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  auth = token.admin,
): Promise<Result<T>> {
  const response = await fetch(recordings.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Result<T>;
}

interface RecordingNode {
  id: string;
  callId: string;
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  caller?: string | null;
  callee?: string | null;
  location: RecordingLocation;
  localCopyExpiresAt: string | null;
  sha256: string | null;
}
interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: RecordingNode }[];
}
type PbxRecordings = { id: string; recordings: Page } | null;

const NODE = 'id callId startedAt durationSeconds sizeBytes location localCopyExpiresAt sha256';

/** What the gateway sends for the contract's Recordings operation, for one or more PBXs. */
async function recordingsOf(
  ids: string[],
  args: { first?: number; after?: string; from?: string; to?: string } = {},
  auth = token.admin,
  node = `${NODE} caller callee`,
): Promise<Result<{ _entities: PbxRecordings[] }>> {
  return gql(
    `query ($r: [_Any!]!, $first: Int, $after: String, $from: DateTime, $to: DateTime) {
    _entities(representations: $r) { ... on Pbx { id recordings(first: $first, after: $after, filter: { from: $from, to: $to }) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${node} } } } } } }`,
    { r: ids.map((id) => ({ __typename: 'Pbx', id })), ...args },
    auth,
  );
}

async function page(
  id: string,
  args: { first?: number; after?: string; from?: string; to?: string } = {},
  auth = token.admin,
): Promise<Page> {
  const { data, errors } = await recordingsOf([id], args, auth);
  expect(errors).toBeUndefined();
  return data!._entities[0]!.recordings;
}

const serial = (n: number) => `7e${n.toString(16).padStart(10, '0')}`;
const A = serial(1); // customer c1, network n1: 120 seeded recordings, migrated long ago
const B = serial(2); // customer c2, standalone: a few LOCAL recordings
const E = serial(3); // customer c1, network n1: hand-made recordings with known instants
const BIG = serial(4); // customer c1: enough recordings that paging deep must not slow down
const FLEET = Array.from({ length: 12 }, (_, i) => serial(100 + i)); // customer c1, for statement counting
const UNKNOWN = serial(999);
const NOW = new Date('2024-06-01T12:00:00.000Z');
const t = (iso: string) => new Date(`2024-05-${iso}Z`);

function registered(
  pbx: Omit<PbxSnapshot, 'revision' | 'wmsVersion' | 'name' | 'kind' | 'region'>,
): EventEnvelope<EventPayloads['PbxRegistered']> {
  return {
    id: randomUUID(),
    type: 'PbxRegistered',
    key: pbx.id,
    source: 'network',
    occurredAt: new Date().toISOString(),
    payload: {
      pbx: {
        name: `${pbx.id}.wildixin.com`,
        wmsVersion: '6.05.20231120.1',
        revision: 1,
        kind: PbxKind.CLOUD,
        region: 'eu-central-1',
        ...pbx,
      },
    },
  };
}

const file = (n: number, startedAt: Date, extra: Partial<RecordingRegistration> = {}): RecordingRegistration => ({
  pbxId: E,
  sourcePath: `recordings/e/${n}.wav`,
  callId: `call-${n}`,
  startedAt,
  durationSeconds: 60 + n,
  sizeBytes: 1000 * n,
  caller: `20${n}`,
  callee: '+390123456789',
  ...extra,
});
const verified = (n: number) => ({ sha256: 'ab'.repeat(32), objectKey: `${E}/recordings/e/${n}.wav` });
const SOON = new Date(Date.now() + 3 * 24 * 3600 * 1000);

let registeredE: Recording[];

beforeAll(async () => {
  let db: DatabaseConfig = { kind: 'sqlite', file: ':memory:' };
  if (process.env.TEST_DB === 'mysql') {
    mysqlDatabase = `t_recordings_${randomBytes(4).toString('hex')}`;
    db = { kind: 'mysql', url: `${MYSQL_URL}/${mysqlDatabase}` };
  }
  bus = new MemoryBus();
  recordings = await startSubgraph(recordingsSubgraph, {
    port: 0,
    host: '127.0.0.1',
    db,
    bus,
    verifier: createTokenVerifier({ secret: SECRET }),
    keepStatements: true,
  });
  await bus.publish([
    registered({ id: A, customerId: 'c1', networkId: 'n1' }),
    registered({ id: B, customerId: 'c2', networkId: null }),
    registered({ id: E, customerId: 'c1', networkId: 'n1' }),
    registered({ id: BIG, customerId: 'c1', networkId: null }),
    ...FLEET.map((id) => registered({ id, customerId: 'c1', networkId: null })),
  ]);
  await recordings.runtime.directory.catchUp();

  const { db: data } = recordings.runtime;
  await seedRecordings(data, A, 120, { now: NOW, days: 30, migratedAt: new Date('2024-05-20T00:00:00Z'), migrationId: 'm-a' });
  await seedRecordings(data, B, 5, { now: NOW });
  await seedRecordings(data, BIG, 20_000, { now: NOW, days: 365 });
  for (const id of FLEET) await seedRecordings(data, id, 3, { now: NOW });
  registeredE = await recordings.runtime.transact((em) =>
    recordings.services.recordings.registerRecordings(em, [
      file(1, t('10T08:00:00.000')),
      // Two calls in the same millisecond: the id decides their order.
      file(2, t('11T09:30:00.250')),
      file(3, t('11T09:30:00.250')),
      file(4, t('12T00:00:00.000'), {
        location: RecordingLocation.CDS_WITH_LOCAL_COPY,
        localCopyExpiresAt: t('19T00:00:00.000'),
        ...verified(4),
      }),
      file(5, t('13T00:00:00.000'), { location: RecordingLocation.CDS_WITH_LOCAL_COPY, localCopyExpiresAt: SOON, ...verified(5) }),
      file(6, t('14T00:00:00.000'), { location: RecordingLocation.CDS, localCopyExpiresAt: t('20T00:00:00.000'), ...verified(6) }),
    ]),
  );
}, 120000);

afterAll(async () => {
  await recordings?.stop();
  await bus?.close();
  if (mysqlDatabase) {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    await connection.query(`DROP DATABASE IF EXISTS \`${mysqlDatabase}\``);
    await connection.end();
  }
});

const newestFirst = (nodes: RecordingNode[]) =>
  nodes.every(
    (n, i) => i === 0 || nodes[i - 1].startedAt > n.startedAt || (nodes[i - 1].startedAt === n.startedAt && nodes[i - 1].id > n.id),
  );

describe('recordings subgraph: paging', () => {
  test('pages through all recordings of a PBX newest first, 50 by default, with keyset cursors', async () => {
    const seen: RecordingNode[] = [];
    let after: string | undefined;
    const sizes: number[] = [];
    for (;;) {
      const p = await page(A, { after });
      expect(p.totalCount).toBe(120);
      sizes.push(p.edges.length);
      seen.push(...p.edges.map((e) => e.node));
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor!;
    }
    expect(sizes).toEqual([50, 50, 20]);
    expect(new Set(seen.map((n) => n.id)).size).toBe(120);
    expect(newestFirst(seen)).toBe(true);
    const first = seen[0];
    expect(first.sizeBytes).toBe(44 + first.durationSeconds * 16_000);
    expect(first.startedAt).toMatch(/^2024-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('ties on the start instant are ordered by id, and cursors continue between them', async () => {
    const [two, three] = [registeredE[1], registeredE[2]];
    const [high, low] = two.id > three.id ? [two, three] : [three, two];
    const window = { from: '2024-05-11T00:00:00.000Z', to: '2024-05-12T00:00:00.000Z' };
    const p1 = await page(E, { ...window, first: 1 });
    expect(p1.totalCount).toBe(2);
    expect(p1.edges.map((e) => e.node.id)).toEqual([high.id]);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = await page(E, { ...window, first: 1, after: p1.pageInfo.endCursor! });
    expect(p2.edges.map((e) => e.node.id)).toEqual([low.id]);
    expect(p2.pageInfo.hasNextPage).toBe(false);
  });

  test('`from` is inclusive and `to` exclusive, for the page and for totalCount', async () => {
    const p = await page(E, { from: '2024-05-11T09:30:00.250Z', to: '2024-05-13T00:00:00.000Z' });
    expect(p.totalCount).toBe(3);
    expect(p.edges.map((e) => e.node.callId).sort()).toEqual(['call-2', 'call-3', 'call-4']);
    expect((await page(E, { from: '2024-05-14T00:00:00.000Z' })).edges.map((e) => e.node.callId)).toEqual(['call-6']);
    expect((await page(E, { to: '2024-05-10T08:00:00.000Z' })).totalCount).toBe(0);
    expect((await page(E, { from: '2024-05-12T00:00:00.000Z', to: '2024-05-12T00:00:00.000Z' })).edges).toEqual([]);
  });

  test('a deep page of a large PBX is the right one and reads through the index', async () => {
    let after: string | undefined;
    let last: RecordingNode | undefined;
    for (let i = 0; i < 40; i++) {
      const p = await page(BIG, { first: 500, after });
      after = p.pageInfo.endCursor!;
      last = p.edges.at(-1)!.node;
      if (i === 39) {
        expect(p.pageInfo.hasNextPage).toBe(false);
        expect(p.totalCount).toBe(20_000);
      }
    }
    const oldest = await recordings.runtime.db
      .getRepository(Recording)
      .find({ where: { pbxId: BIG }, order: { startedAt: 'ASC', id: 'ASC' }, take: 1 });
    expect(last!.id).toBe(oldest[0].id);

    // The plan: an index seek on (pbxId, startedAt, id) in sort order, no sort step, no scan of the table,
    // for a cursor and a `to` far back too (where a walk from the newest row would read thousands).
    const queries = new RecordingQueries(recordings.runtime.db);
    const { sql, params } = queries.pageStatement([
      { pbxId: BIG, window: { from: null, to: null }, after: { startedAt: new Date('2024-01-01T00:00:00Z'), id: 'x' }, rows: 51 },
      { pbxId: BIG, window: { from: null, to: new Date('2024-01-01T00:00:00Z') }, after: null, rows: 51 },
      { pbxId: A, window: { from: new Date('2024-05-01T00:00:00Z'), to: null }, after: null, rows: 51 },
    ]);
    expect(sql).not.toMatch(/OFFSET/i);
    if (recordings.runtime.db.options.type === 'mysql') {
      // MariaDB's ANALYZE runs the statement and reports the rows each part really read.
      const plan = await recordings.runtime.db.query<
        { table: string; key: string | null; Extra: string | null; r_rows: string | number }[]
      >(`ANALYZE ${sql}`, params);
      const seeks = plan.filter((row) => row.table === 'recording');
      expect(seeks).toHaveLength(3);
      for (const row of seeks) {
        expect(row.key).toBe('IX_recording_pbx_started');
        expect(row.Extra ?? '').not.toMatch(/filesort/i);
        expect(Number(row.r_rows)).toBeLessThanOrEqual(52);
      }
    } else {
      const plan = await recordings.runtime.db.query<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${sql}`, params);
      const details = plan.map((row) => row.detail);
      // A range on (pbxId, startedAt): the cursor's bound is a seek, not a skip over newer rows.
      expect(
        details.filter((d) => /SEARCH recording USING (COVERING )?INDEX IX_recording_pbx_started \(pbxId=\? AND startedAt[<>]/.test(d)),
      ).toHaveLength(3);
      expect(details.join('\n')).not.toMatch(/TEMP B-TREE|SCAN .*recording/);
    }
  });

  test('page size and cursor mistakes are BAD_USER_INPUT', async () => {
    for (const args of [
      { first: 501 },
      { first: 0 },
      { after: 'not-a-cursor' },
      { from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' },
    ]) {
      const { data, errors } = await recordingsOf([A], args);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      // The field is nullable (docs/partial-answers.md): the refusal nulls it, not the PBX.
      expect((data?._entities?.[0] as { recordings?: unknown } | null)?.recordings ?? null).toBeNull();
    }
    expect((await page(A, { first: 500 })).edges).toHaveLength(120);
  });
});

describe('recordings subgraph: location and personal data', () => {
  test('a local copy past its 7 days reads as CDS; others read as stored', async () => {
    const p = await page(E);
    const byCall = new Map(p.edges.map((e) => [e.node.callId, e.node]));
    expect(byCall.get('call-1')).toMatchObject({ location: 'LOCAL', localCopyExpiresAt: null, sha256: null });
    expect(byCall.get('call-4')).toMatchObject({
      location: 'CDS',
      localCopyExpiresAt: '2024-05-19T00:00:00.000Z',
      sha256: 'ab'.repeat(32),
    });
    expect(byCall.get('call-5')).toMatchObject({ location: 'CDS_WITH_LOCAL_COPY', localCopyExpiresAt: SOON.toISOString() });
    expect(byCall.get('call-6')!.location).toBe('CDS');
    // Seeded A was migrated on 2024-05-20: before that CDS (copy expired on the 27th), after it LOCAL.
    const a = (await page(A, { first: 500 })).edges.map((e) => e.node);
    for (const node of a) {
      if (node.startedAt < '2024-05-20')
        expect(node).toMatchObject({
          location: 'CDS',
          localCopyExpiresAt: localCopyExpiry(new Date('2024-05-20T00:00:00Z')).toISOString(),
        });
      else expect(node).toMatchObject({ location: 'LOCAL', sha256: null });
    }
    expect(new Set(a.map((n) => n.location))).toEqual(new Set(['CDS', 'LOCAL']));
  });

  test('caller and callee are FORBIDDEN to analysts, everything else is readable', async () => {
    const { data, errors } = await recordingsOf([E], { first: 2 }, token.analyst);
    expect(errors!.length).toBe(4);
    expect(new Set(errors!.map((e) => e.extensions?.code))).toEqual(new Set(['FORBIDDEN']));
    expect(new Set(errors!.map((e) => e.path!.at(-1)))).toEqual(new Set(['caller', 'callee']));
    const nodes = data!._entities[0]!.recordings.edges.map((e) => e.node);
    expect(nodes.map((n) => [n.caller, n.callee])).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(nodes[0].callId).toBe('call-6');

    const clean = await recordingsOf([E], { first: 2 }, token.analyst, NODE);
    expect(clean.errors).toBeUndefined();
    const admin = await page(E, { first: 1 });
    expect(admin.edges[0].node).toMatchObject({ caller: '206', callee: '+390123456789' });
  });
});

describe('recordings subgraph: scope', () => {
  test('a partner sees the PBXs of its customers only; an unknown PBX is null', async () => {
    const mine = await recordingsOf([A, B], {}, token.partner(['c1', 'c2']));
    expect(mine.errors).toBeUndefined();
    expect(mine.data!._entities.map((p) => p!.recordings.totalCount)).toEqual([120, 5]);

    const other = await recordingsOf([B], {}, token.partner(['c1']));
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.data?._entities?.[0] ?? null).toBeNull();

    const unknown = await recordingsOf([UNKNOWN]);
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data!._entities).toEqual([null]);
  });

  test('a PBX token sees its own recordings, not those of a sibling in its network', async () => {
    expect((await page(E, {}, token.pbx(E))).totalCount).toBe(6);
    const sibling = await recordingsOf([A], {}, token.pbx(E));
    expect(sibling.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  test('Recording is an entity: resolvable by id, with its PBX, and scoped the same way', async () => {
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Recording { id callId location pbx { id } } } }`;
    const r = (ids: string[]) => ({ r: ids.map((id) => ({ __typename: 'Recording', id })) });
    const found = await gql<{ _entities: unknown[] }>(query, r([registeredE[3].id, randomUUID()]));
    expect(found.errors).toBeUndefined();
    expect(found.data!._entities).toEqual([{ id: registeredE[3].id, callId: 'call-4', location: 'CDS', pbx: { id: E } }, null]);
    const refused = await gql(query, r([registeredE[3].id]), token.partner(['c2']));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('recordings subgraph: cost', () => {
  test('recordings of many PBXs cost the same statements as of two', async () => {
    const counter = recordings.runtime.counter;
    const cost = async (ids: string[]) => {
      counter.reset();
      const { data, errors } = await recordingsOf(ids, { first: 2 }, token.partner(['c1']));
      expect(errors).toBeUndefined();
      expect(data!._entities.every((p) => p!.recordings.totalCount === 3)).toBe(true);
      const statements = [...counter.statements];
      return { count: counter.reset(), statements };
    };
    const two = await cost(FLEET.slice(0, 2));
    const twelve = await cost(FLEET);
    expect(twelve.count).toBe(two.count);
    expect(two.count).toBeLessThanOrEqual(3); // directory PBXs, pages, counts
    expect(twelve.statements.join('\n')).not.toMatch(/OFFSET/i);
  });

  test('without totalCount no count is run', async () => {
    const counter = recordings.runtime.counter;
    counter.reset();
    const { errors } = await gql(
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pbx { recordings(first: 5) { edges { node { id } } } } } }`,
      { r: FLEET.map((id) => ({ __typename: 'Pbx', id })) },
    );
    expect(errors).toBeUndefined();
    expect(counter.statements.join('\n')).not.toMatch(/COUNT\(/i);
    expect(counter.reset()).toBe(2);
  });
});

describe('recordings subgraph: registerRecordings', () => {
  const service = () => recordings.services.recordings;

  test('registering the same files again returns the same rows and adds nothing', async () => {
    const rows = [file(1, t('10T08:00:00.000')), file(7, t('15T10:00:00.000')), file(7, t('15T10:00:00.000'))];
    const again = await recordings.runtime.transact((em) => service().registerRecordings(em, rows));
    expect(again[0].id).toBe(registeredE[0].id);
    expect(again[1].id).toBe(again[2].id);
    expect(again[1]).toMatchObject({ pbxId: E, callId: 'call-7', sourcePath: 'recordings/e/7.wav', location: 'LOCAL', sizeBytes: 7000 });
    const twice = await recordings.runtime.transact((em) =>
      service().registerRecordings(em, [{ ...rows[1], sourcePath: './recordings\\e/7.wav' }]),
    );
    expect(twice[0].id).toBe(again[1].id);
    expect(await recordings.runtime.db.getRepository(Recording).countBy({ pbxId: E })).toBe(7);
  });

  test('a bad row is refused before anything is written', async () => {
    const before = await recordings.runtime.db.getRepository(Recording).countBy({ pbxId: E });
    const attempts: RecordingRegistration[][] = [
      [file(8, t('16T00:00:00.000')), file(9, t('16T00:00:00.000'), { sizeBytes: -1 })],
      [file(8, t('16T00:00:00.000'), { sourcePath: '../etc/passwd' })],
      [file(8, t('16T00:00:00.000'), { sourcePath: '/abs/8.wav' })],
      [file(8, t('16T00:00:00.000'), { location: RecordingLocation.CDS })],
      [file(8, t('16T00:00:00.000'), { location: RecordingLocation.CDS_WITH_LOCAL_COPY, ...verified(8) })],
      [file(8, t('16T00:00:00.000'), { sha256: 'nope' })],
      [file(8, t('16T00:00:00.000'), { pbxId: 'not-a-serial' })],
    ];
    for (const rows of attempts) {
      await expect(recordings.runtime.transact((em) => service().registerRecordings(em, rows))).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
      });
    }
    expect(await recordings.runtime.db.getRepository(Recording).countBy({ pbxId: E })).toBe(before);
  });
});

describe('recordings subgraph: by offset (for GET /api/v1/pbx/recordings)', () => {
  type OffsetPage = { totalCount: number; offset: number; nodes: RecordingNode[] };
  async function byOffset(ids: string[], args: { offset?: number; first?: number; from?: string; to?: string } = {}, auth = token.admin) {
    return gql<{ _entities: ({ id: string; recordingsByOffset: OffsetPage } | null)[] }>(
      `query ($r: [_Any!]!, $offset: Int, $first: Int, $from: DateTime, $to: DateTime) {
        _entities(representations: $r) { ... on Pbx { id recordingsByOffset(offset: $offset, first: $first, filter: { from: $from, to: $to }) {
          totalCount offset nodes { ${NODE} } } } } }`,
      { r: ids.map((id) => ({ __typename: 'Pbx', id })), ...args },
      auth,
    );
  }
  async function offsetPage(id: string, args: { offset?: number; first?: number; from?: string; to?: string } = {}): Promise<OffsetPage> {
    const { data, errors } = await byOffset([id], args);
    expect(errors).toBeUndefined();
    return data!._entities[0]!.recordingsByOffset;
  }

  test('pages by position in the same order as the cursors, 100 by default', async () => {
    const byCursor = (await page(A, { first: 500 })).edges.map((e) => e.node.id);
    const first = await offsetPage(A);
    expect(first).toMatchObject({ totalCount: 120, offset: 0 });
    expect(first.nodes.map((n) => n.id)).toEqual(byCursor.slice(0, 100));
    const seen: string[] = [];
    for (let offset = 0; offset < 120; offset += 35) seen.push(...(await offsetPage(A, { offset, first: 35 })).nodes.map((n) => n.id));
    expect(seen).toEqual(byCursor);
    expect((await offsetPage(A, { offset: 500 })).nodes).toEqual([]);
    // Ties on the start instant keep the id order of the cursors, with a window.
    const window = { from: '2024-05-11T00:00:00.000Z', to: '2024-05-12T00:00:00.000Z' };
    const ties = (await page(E, window)).edges.map((e) => e.node.id);
    expect((await offsetPage(E, { ...window, offset: 1, first: 1 })).nodes.map((n) => n.id)).toEqual([ties[1]]);
    expect((await offsetPage(E, window)).totalCount).toBe(2);
  });

  test('a deep offset reads the right rows, skipping inside the index only', async () => {
    const deep = await offsetPage(BIG, { offset: 19_990, first: 500 });
    expect(deep.totalCount).toBe(20_000);
    const oldest = await recordings.runtime.db
      .getRepository(Recording)
      .find({ where: { pbxId: BIG }, order: { startedAt: 'ASC', id: 'ASC' }, take: 10 });
    expect(deep.nodes.map((n) => n.id)).toEqual(oldest.map((r) => r.id).reverse());

    const queries = new RecordingQueries(recordings.runtime.db);
    const { sql, params } = queries.offsetStatement([
      { pbxId: BIG, window: { from: null, to: new Date('2024-01-01T00:00:00Z') }, offset: 5_000, rows: 50 },
    ]);
    if (recordings.runtime.db.options.type === 'mysql') {
      const plan = await recordings.runtime.db.query<
        { table: string; type: string; key: string | null; Extra: string | null; r_rows: string | number }[]
      >(`ANALYZE ${sql}`, params);
      // The skip: an index-only range scan (no row lookups for the 5,000 skipped entries).
      const skip = plan.find((row) => row.table === 'recording' && row.key === 'IX_recording_pbx_started')!;
      expect(skip.Extra ?? '').toMatch(/Using index/);
      expect(skip.Extra ?? '').not.toMatch(/filesort/i);
      // The page: its rows fetched by primary key, one each.
      const fetch = plan.find((row) => row.table === 'r')!;
      expect(fetch).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
      expect(Number(fetch.r_rows)).toBeLessThanOrEqual(1);
    } else {
      const plan = (await recordings.runtime.db.query<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((row) => row.detail);
      expect(plan.join('\n')).toMatch(/SEARCH recording USING COVERING INDEX IX_recording_pbx_started \(pbxId=\? AND startedAt<\?\)/);
      expect(plan.join('\n')).toMatch(/SEARCH r USING INDEX sqlite_autoindex_recording_1 \(id=\?\)/);
      expect(plan.join('\n')).not.toMatch(/TEMP B-TREE|SCAN r\b/);
    }
  });

  test('deep offsets skip whole days by their counts and land on exactly the rows a plain walk finds', async () => {
    const { db } = recordings.runtime;
    const queries = new RecordingQueries(db);
    const everything = await db.getRepository(Recording).find({ where: { pbxId: BIG }, order: { startedAt: 'DESC', id: 'DESC' } });
    const windows: RecordingWindow[] = [
      { from: null, to: null },
      { from: null, to: new Date('2024-03-17T15:45:00.123Z') },
      { from: new Date('2023-08-02T06:00:00Z'), to: null },
      { from: new Date('2023-08-02T06:00:00Z'), to: new Date('2024-04-01T00:00:00Z') },
    ];
    const requests = windows.flatMap((window) =>
      [0, 1_999, 2_000, 2_345, 7_777, 12_050, 19_990, 25_000].map((offset) => ({ pbxId: BIG, window, offset, rows: 37 })),
    );
    const pages = await queries.offsetPages(requests);
    const seeks = await queries.seekPastWholeDays(requests);
    requests.forEach((request, i) => {
      const inWindow = everything.filter(
        (r) => (!request.window.from || r.startedAt >= request.window.from) && (!request.window.to || r.startedAt < request.window.to),
      );
      expect(pages[i].map((r) => r.id)).toEqual(inWindow.slice(request.offset, request.offset + 37).map((r) => r.id));
      // What runs: a deep offset inside the window is left with less than a day's worth (about 55 here) to walk.
      if (request.offset < DAY_SEEK_MIN_OFFSET) expect(seeks[i]).toBe(request);
      else if (request.offset < inWindow.length) expect(seeks[i].offset).toBeLessThan(200);
    });
  });

  test('offset and page size mistakes are BAD_USER_INPUT', async () => {
    for (const args of [{ offset: -1 }, { first: 501 }, { first: 0 }]) {
      const { errors } = await byOffset([A], args);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('pages of many PBXs cost the same statements as of two, and are scoped', async () => {
    const counter = recordings.runtime.counter;
    const cost = async (ids: string[]) => {
      counter.reset();
      const { data, errors } = await byOffset(ids, { offset: 1, first: 1 }, token.partner(['c1']));
      expect(errors).toBeUndefined();
      expect(data!._entities.every((p) => p!.recordingsByOffset.totalCount === 3 && p!.recordingsByOffset.nodes.length === 1)).toBe(true);
      // The counter leaves out the outbox relay's own statements (its lock on MariaDB included).
      return counter.reset();
    };
    expect(await cost(FLEET)).toBe(await cost(FLEET.slice(0, 2)));
    const refused = await byOffset([B], {}, token.partner(['c1']));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('recordings subgraph: one recording and its playback link', () => {
  const ONE = `query ($id: ID!) { recording(id: $id) { id callId location playbackUrl pbx { id } } }`;

  test('recording(id) is scoped like the rest: found, null when unknown, FORBIDDEN outside the scope', async () => {
    const cds = registeredE[3];
    const found = await gql<{
      recording: { id: string; callId: string; location: string; playbackUrl: string | null; pbx: { id: string } } | null;
    }>(ONE, { id: cds.id });
    expect(found.errors).toBeUndefined();
    expect(found.data!.recording).toMatchObject({ id: cds.id, callId: 'call-4', location: 'CDS', pbx: { id: E } });
    // No secret configured in this test: the link is a plain path that needs a bearer token.
    expect(found.data!.recording!.playbackUrl).toBe(`/api/v1/pbx/recordings/${cds.id}/audio`);
    const localOne = await gql<{ recording: { playbackUrl: string | null } }>(ONE, { id: registeredE[0].id });
    expect(localOne.data!.recording.playbackUrl).toBeNull();
    expect((await gql<{ recording: null }>(ONE, { id: randomUUID() })).data!.recording).toBeNull();
    const refused = await gql(ONE, { id: cds.id }, token.partner(['c2']));
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const analyst = await gql(ONE, { id: cds.id }, token.analyst);
    expect(analyst.errors?.map((e) => [e.extensions?.code, e.path?.at(-1)])).toEqual([['FORBIDDEN', 'playbackUrl']]);
  });
});

describe('recordings subgraph: totalCount from day counts', () => {
  test('equals counting the rows, for any window, with ties, duplicates and partial days', async () => {
    const { db } = recordings.runtime;
    const queries = new RecordingQueries(db);
    const repository = db.getRepository(Recording);
    const brute = async (pbxId: string, from: Date | null, to: Date | null) => {
      const qb = repository.createQueryBuilder('r').where('r.pbxId = :pbxId', { pbxId });
      if (from) qb.andWhere('r.startedAt >= :from', { from: queries['instant'](from) });
      if (to) qb.andWhere('r.startedAt < :to', { to: queries['instant'](to) });
      return qb.getCount();
    };
    const day = 24 * 3600 * 1000;
    const windows: [Date | null, Date | null][] = [
      [null, null],
      [new Date('2024-05-11T09:30:00.250Z'), null],
      [null, new Date('2024-05-12T00:00:00.000Z')],
      [new Date('2024-05-11T00:00:00.000Z'), new Date('2024-05-12T00:00:00.000Z')],
      [new Date('2024-05-10T08:00:00.000Z'), new Date('2024-05-10T08:00:00.001Z')],
      [new Date('2024-05-10T12:00:00.000Z'), new Date('2024-05-11T12:00:00.000Z')],
      [new Date('2024-02-03T17:12:00.000Z'), new Date('2024-04-29T05:00:00.000Z')],
    ];
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 12; i++) {
      const from = new Date(NOW.getTime() - Math.floor(next() * 400 * day));
      windows.push([from, new Date(from.getTime() + Math.floor(next() * 60 * day))]);
    }
    const requests = [A, BIG, E].flatMap((pbxId) => windows.map(([from, to]) => ({ pbxId, window: { from, to } })));
    const counts = await queries.counts(requests);
    const expected = await Promise.all(requests.map((r) => brute(r.pbxId, r.window.from, r.window.to)));
    expect(counts).toEqual(expected);
    expect(counts.some((n) => n > 1000)).toBe(true);

    // The table agrees with a recount from the rows (what the migration backfills).
    const kept = await db.query<{ pbxId: string; day: string; recordings: number | string }[]>(
      'SELECT * FROM recording_day_count ORDER BY pbxId, day',
    );
    await db.transaction((em) => rebuildDayCounts(em));
    const rebuilt = await db.query<{ pbxId: string; day: string; recordings: number | string }[]>(
      'SELECT * FROM recording_day_count ORDER BY pbxId, day',
    );
    expect(kept.map((r) => [r.pbxId, r.day, Number(r.recordings)])).toEqual(rebuilt.map((r) => [r.pbxId, r.day, Number(r.recordings)]));
    expect(rebuilt.filter((r) => r.pbxId === BIG).reduce((s, r) => s + Number(r.recordings), 0)).toBe(20_000);
  });

  test('a long window reads day counts and at most two days of rows', async () => {
    const queries = new RecordingQueries(recordings.runtime.db);
    const { sql, params } = queries.countStatement([
      { pbxId: BIG, window: { from: new Date('2023-09-01T10:00:00Z'), to: new Date('2024-05-01T10:00:00Z') } },
    ]);
    if (recordings.runtime.db.options.type === 'mysql') {
      const plan = await recordings.runtime.db.query<{ table: string; key: string | null; r_rows: string | number | null }[]>(
        `ANALYZE ${sql}`,
        params,
      );
      const rowsRead = plan.filter((row) => row.table === 'recording').map((row) => Number(row.r_rows));
      expect(rowsRead).toHaveLength(2);
      // 20,000 recordings over a year: about 55 a day.
      for (const n of rowsRead) expect(n).toBeLessThan(200);
      expect(plan.find((row) => row.table === 'recording_day_count')?.key).toBe('PRIMARY');
    } else {
      const plan = (await recordings.runtime.db.query<{ detail: string }[]>(`EXPLAIN QUERY PLAN ${sql}`, params))
        .map((row) => row.detail)
        .join('\n');
      expect(plan).toMatch(
        /SEARCH recording_day_count USING (COVERING )?INDEX sqlite_autoindex_recording_day_count_1 \(pbxId=\? AND day>\? AND day<\?\)/,
      );
      expect(
        plan.match(/SEARCH recording USING COVERING INDEX IX_recording_pbx_started \(pbxId=\? AND startedAt>\? AND startedAt<\?\)/g),
      ).toHaveLength(2);
    }
  });

  test('registering files already there counts nothing twice', async () => {
    const { db } = recordings.runtime;
    const dayTotal = async () =>
      Number(
        (
          await db.query<{ n: number | string }[]>(
            `SELECT COALESCE(SUM(recordings), 0) AS n FROM recording_day_count WHERE ${db.driver.escape('pbxId')} = ?`,
            [E],
          )
        )[0].n,
      );
    const before = await dayTotal();
    expect(before).toBe(await db.getRepository(Recording).countBy({ pbxId: E }));
    await recordings.runtime.transact((em) =>
      recordings.services.recordings.registerRecordings(em, [
        file(1, t('10T08:00:00.000')),
        file(20, t('20T10:00:00.000')),
        file(20, t('20T10:00:00.000')),
      ]),
    );
    expect(await dayTotal()).toBe(before + 1);
    expect(await dayTotal()).toBe(await db.getRepository(Recording).countBy({ pbxId: E }));
  });
});
