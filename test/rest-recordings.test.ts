import { recordingsRestRoute, RestRecording } from '../gateway/rest-recordings';
import { listen } from '../kernel/http';
import { signToken } from '../kernel/identity';
import { seedRecordings } from '../subgraphs/recordings/seed';
import { createCustomer, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';
import { RecordingNode, contractOperation } from './support/operations';

/**
 * GET /api/v1/pbx/recordings (contract README, "REST") at the gateway's port,
 * against the contract's Recordings operation for the same data: the route
 * runs GraphQL through the gateway as the caller, so every answer here must
 * agree with what GraphQL says, refusals included.
 */

type RestRecord = RestRecording;
type RestBody =
  { type: 'result'; result: { total: number; records: RestRecord[]; redacted?: string[] } } | { type: 'error'; reason: string };

interface Recordings {
  pbx: { recordings: { totalCount: number; edges: { node: RecordingNode }[] } };
}

const RECORDINGS = contractOperation('Recordings.graphql', 'Recordings');
const NOW = new Date('2024-06-01T12:00:00.000Z');
const MIGRATED = new Date('2024-05-20T00:00:00.000Z');
const A = serial(1, 'e5'); // customer rest-a, network: 130 recordings, migrated on MIGRATED
const A2 = serial(2, 'e5'); // customer rest-a, same network: 2 recordings
const B = serial(3, 'e5'); // customer rest-b, standalone: 3 LOCAL recordings
const UNKNOWN = serial(99, 'e5');
const seconds = (iso: string | null) => (iso === null ? null : Math.floor(Date.parse(iso) / 1000));

/** What the contract says a REST record is, from the GraphQL node of the same recording. */
const asRest = (node: RecordingNode): RestRecord => ({
  id: node.id,
  callId: node.callId,
  start: seconds(node.startedAt)!,
  duration: node.durationSeconds,
  size: node.sizeBytes,
  caller: node.caller,
  callee: node.callee,
  location: node.location,
  localCopyExpires: seconds(node.localCopyExpiresAt),
  sha256: node.sha256,
});

describe('GET /api/v1/pbx/recordings', () => {
  let stack: TestStack;
  let all: RecordingNode[];

  async function rest(
    query: string,
    token: string | null = tokens.admin(),
    init: RequestInit = {},
  ): Promise<{ status: number; body: RestBody; headers: Headers }> {
    const base = stack.gatewayUrl.replace(/\/graphql$/, '');
    const response = await fetch(`${base}/api/v1/pbx/recordings${query}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
    });
    return { status: response.status, body: (await response.json()) as RestBody, headers: response.headers };
  }
  const result = (body: RestBody) => {
    if (body.type !== 'result') throw new Error(`expected a result, got ${JSON.stringify(body)}`);
    return body.result;
  };

  beforeAll(async () => {
    stack = await startTestStack();
    await createCustomer(stack, 'rest-a');
    await stack.ok(`mutation { createNetwork(input: { id: "rest-net", name: "REST", customerId: "rest-a" }) { network { id } } }`);
    await registerPbx(stack, { id: A, customerId: 'rest-a', networkId: 'rest-net' });
    await registerPbx(stack, { id: A2, customerId: 'rest-a', networkId: 'rest-net' });
    await createCustomer(stack, 'rest-b');
    await registerPbx(stack, { id: B, customerId: 'rest-b' });
    await stack.settle();
    const db = stack.subgraphs.recordings.runtime.db;
    await seedRecordings(db, A, 130, { now: NOW, days: 30, migratedAt: MIGRATED, migrationId: 'm-rest' });
    await seedRecordings(db, A2, 2, { now: NOW });
    await seedRecordings(db, B, 3, { now: NOW });
    all = (await stack.ok<Recordings>(RECORDINGS, { pbxId: A, first: 500 })).pbx.recordings.edges.map((e) => e.node);
    expect(all).toHaveLength(130);
  }, 240_000);
  afterAll(() => stack?.stop());

  it('answers the first 100 recordings newest first, in the contract shape, as GraphQL has them', async () => {
    const { status, body, headers } = await rest(`?pbx=${A}`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.type).toBe('result');
    const page = result(body);
    expect(page.total).toBe(130);
    expect(page.redacted).toBeUndefined();
    expect(page.records).toEqual(all.slice(0, 100).map(asRest));
    expect(Object.keys(page.records[0]).sort()).toEqual([
      'callId',
      'callee',
      'caller',
      'duration',
      'id',
      'localCopyExpires',
      'location',
      'sha256',
      'size',
      'start',
    ]);
    // Migrated ones are in CDS with a (long expired) local copy, the newer ones LOCAL.
    expect(new Set(page.records.map((r) => r.location))).toEqual(new Set(['CDS', 'LOCAL']));
    const migrated = page.records.find((r) => r.location === 'CDS')!;
    expect(migrated.localCopyExpires).toBe(Date.parse('2024-05-27T00:00:00Z') / 1000);
    expect(migrated.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('pages with start and count', async () => {
    const pages: RestRecord[] = [];
    for (let start = 0; start < 130; start += 40) {
      const page = result((await rest(`?pbx=${A}&start=${start}&count=40`)).body);
      expect(page.total).toBe(130);
      expect(page.records).toHaveLength(Math.min(40, 130 - start));
      pages.push(...page.records);
    }
    expect(pages).toEqual(all.map(asRest));
    expect(result((await rest(`?pbx=${A}&start=125&count=500`)).body).records).toEqual(all.slice(125).map(asRest));
    const beyond = result((await rest(`?pbx=${A}&start=1000`)).body);
    expect(beyond).toEqual({ total: 130, records: [] });
  });

  it('filters on the call start with from (inclusive) and to (exclusive), in Unix seconds', async () => {
    const from = seconds(all[100].startedAt)!;
    const to = seconds(all[10].startedAt)!;
    const expected = all.filter((n) => Date.parse(n.startedAt) >= from * 1000 && Date.parse(n.startedAt) < to * 1000);
    expect(expected.length).toBeGreaterThan(50);
    const window = result((await rest(`?pbx=${A}&from=${from}&to=${to}&count=500`)).body);
    expect(window.total).toBe(expected.length);
    expect(window.records).toEqual(expected.map(asRest));
    const graphql = await stack.ok<Recordings>(RECORDINGS, {
      pbxId: A,
      first: 500,
      from: new Date(from * 1000).toISOString(),
      to: new Date(to * 1000).toISOString(),
    });
    expect(graphql.pbx.recordings.totalCount).toBe(window.total);
    // One bound alone, and a window paged.
    expect(result((await rest(`?pbx=${A}&from=${from}`)).body).total).toBe(
      all.filter((n) => Date.parse(n.startedAt) >= from * 1000).length,
    );
    expect(result((await rest(`?pbx=${A}&from=${from}&to=${to}&start=10&count=5`)).body).records).toEqual(
      expected.slice(10, 15).map(asRest),
    );
  });

  it.each([
    ['count over 500', `?pbx=${A}&count=501`, /count.*500/],
    ['count 0', `?pbx=${A}&count=0`, /count/],
    ['a negative start', `?pbx=${A}&start=-1`, /start/],
    ['a start that is not a number', `?pbx=${A}&start=ten`, /start/],
    ['from that is not Unix seconds', `?pbx=${A}&from=2024-05-01`, /from/],
    ['from after to', `?pbx=${A}&from=1717000000&to=1716000000`, /after/],
    ['no pbx for an admin', '', /pbx.*required/],
  ])('answers 400 for %s', async (_what, query, reason) => {
    const { status, body } = await rest(query);
    expect(status).toBe(400);
    expect(body).toEqual({ type: 'error', reason: expect.stringMatching(reason) });
  });

  it('answers 404 for an unknown PBX', async () => {
    const { status, body } = await rest(`?pbx=${UNKNOWN}`);
    expect(status).toBe(404);
    expect(body).toEqual({ type: 'error', reason: expect.stringContaining(UNKNOWN) });
  });

  it("answers 403 to a partner for another customer's PBX, 200 for its own", async () => {
    const refused = await rest(`?pbx=${B}`, tokens.partner(['rest-a']));
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ type: 'error', reason: expect.stringContaining(B) });
    expect(result((await rest(`?pbx=${B}`, tokens.partner(['rest-b']))).body).total).toBe(3);
  });

  it('answers 401 without a token or with a bad one', async () => {
    for (const token of [null, 'not-a-jwt', tokens.admin().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
      const { status, body } = await rest(`?pbx=${A}`, token);
      expect(status).toBe(401);
      expect(body.type).toBe('error');
    }
  });

  it('lets a PBX token read its own recordings without naming itself, and no other PBX', async () => {
    const own = await rest('', tokens.pbx(A2));
    expect(own.status).toBe(200);
    expect(result(own.body).total).toBe(2);
    expect(result((await rest(`?pbx=${A2}`, tokens.pbx(A2))).body).total).toBe(2);
    // Not even a sibling in its own network.
    const sibling = await rest(`?pbx=${A}`, tokens.pbx(A2));
    expect(sibling.status).toBe(403);
    expect(sibling.body.type).toBe('error');
  });

  it('gives analysts the records with caller and callee withheld, and says so', async () => {
    const { status, body } = await rest(`?pbx=${B}`, tokens.analyst());
    expect(status).toBe(200);
    const page = result(body);
    expect(page.redacted).toEqual(['caller', 'callee']);
    expect(page.records).toHaveLength(3);
    expect(page.records.every((r) => r.caller === null && r.callee === null && r.callId !== '')).toBe(true);
    const admin = result((await rest(`?pbx=${B}`)).body);
    expect(admin.records.every((r) => r.caller && r.callee)).toBe(true);
    expect(page.records).toEqual(admin.records.map((r) => ({ ...r, caller: null, callee: null })));
  });

  it('works without a verifier of its own: the claims it reads only pick defaults, the gateway still checks the token', async () => {
    const bare = await listen(0, [recordingsRestRoute({ graphqlUrl: () => stack.gatewayUrl })], '127.0.0.1');
    try {
      const get = (token: string) => fetch(`${bare.url}/api/v1/pbx/recordings`, { headers: { authorization: `Bearer ${token}` } });
      const own = await get(tokens.pbx(A2));
      expect(own.status).toBe(200);
      expect(((await own.json()) as { result: { total: number } }).result.total).toBe(2);
      const forged = await get(signToken('not-the-secret', { sub: 'x', role: 'pbx', pbx: A2 }));
      expect(forged.status).toBe(401);
      expect(await forged.json()).toEqual({ type: 'error', reason: expect.any(String) });
    } finally {
      await bare.close();
    }
  });

  it('answers only GET', async () => {
    const { status, body, headers } = await rest(`?pbx=${A}`, tokens.admin(), { method: 'POST' });
    expect(status).toBe(405);
    expect(headers.get('allow')).toBe('GET');
    expect(body.type).toBe('error');
  });
});
