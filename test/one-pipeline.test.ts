import WebSocket from 'ws';
import { signToken } from '../kernel/identity';
import { PbxKind } from '../kernel/domain/enums';
import { createCustomer, registerPbx, serial } from './support/fixtures';
import { startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';
import { TestObjectStore } from './support/objects';
import { contractDocument, contractOperation } from './support/operations';
import { subscribeWs } from './support/subscriptions';

const PROGRESS = contractDocument('MigrationProgress.graphql');
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation ($id: ID!, $inventory: [CategoryInventoryInput!]!) { beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT = `mutation ($id: ID!, $token: String!, $items: [VerifiedItemInput!]!) { reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { itemsDone } }`;
interface Progress {
  migrationProgress: { migration: { id: string; itemsDone: number } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CDS verifies every reported object: the tests store them where the stack's CDS store keeps them. */
const objects = new TestObjectStore();
const PROTOCOL = 'graphql-transport-ws';

/** A raw graphql-transport-ws connection (to send what a well-behaved client never would). */
function rawSocket(url: string, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), PROTOCOL, options);
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('error', () => undefined);
  const opened = new Promise<void>((resolve) => socket.on('open', () => resolve()));
  const until = async (predicate: () => boolean, ms = 10_000) => {
    for (const started = Date.now(); !predicate(); await sleep(20))
      if (Date.now() - started > ms) throw new Error(`timed out: ${JSON.stringify(messages)}`);
  };
  return { socket, messages, closed, opened, until };
}

async function initialised(url: string, token: string) {
  const raw = rawSocket(url);
  await raw.opened;
  raw.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await raw.until(() => raw.messages.some((m) => m.type === 'connection_ack'));
  return raw;
}

/**
 * One request pipeline (issue 10): over WebSocket and SSE every operation runs
 * as the caller, through the same limits and rate limit as HTTP; sockets have
 * a message size, keep-alive pings and caps of subscriptions; a subscriber's
 * results never depend on another subscriber's token.
 */
describe('one request pipeline for every transport', () => {
  let stack: TestStack;
  const pbx = serial(1, 'a10');
  let migrationId = '';
  let runToken = '';

  beforeAll(async () => {
    process.env.CDS_STORES = objects.setting;
    stack = await startTestStack({
      coalesceMs: 20,
      env: {
        // analysts get 5 operations a minute; everyone else the test default
        RATE_LIMIT_ROLES: 'analyst=5',
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3',
        WS_MAX_SUBSCRIPTIONS_PER_CALLER: '5',
        WS_KEEPALIVE_MS: '1000',
        WS_MAX_PAYLOAD_BYTES: '100000',
      },
    });
    delete process.env.CDS_STORES;
    await createCustomer(stack, 'pipe');
    await registerPbx(stack, { id: pbx, customerId: 'pipe', kind: PbxKind.VIRTUAL, wmsVersion: '6.05' });
    await stack.settle();
    const {
      activateCompanyDataStorage: { migration },
    } = await stack.ok<{ activateCompanyDataStorage: { migration: { id: string } } }>(ACTIVATE, { pbxId: pbx });
    migrationId = migration.id;
    runToken = (
      await stack.ok<{ beginMigrationRun: { runToken: string } }>(BEGIN, {
        id: migrationId,
        inventory: [{ category: 'BACKUPS', itemsTotal: 100, bytesTotal: 1000 }],
      })
    ).beginMigrationRun.runToken;
  });
  afterAll(async () => {
    await stack?.stop();
    objects.remove();
  });

  let reported = 0;
  const report = () => {
    const path = `backups/${reported++}`;
    return stack.ok(REPORT, {
      id: migrationId,
      token: runToken,
      items: [objects.put(pbx, 'eu-central-1', 'BACKUPS', path, 10)],
    });
  };

  it('runs queries over WebSocket as the caller: a partner sees only its customers', async () => {
    const raw = await initialised(stack.gatewayUrl, tokens.partner(['someone-else']));
    raw.socket.send(
      JSON.stringify({
        id: 'q',
        type: 'subscribe',
        payload: { query: 'query ($id: ID!) { customer(id: $id) { id } }', variables: { id: 'pipe' } },
      }),
    );
    await raw.until(() => raw.messages.some((m) => m.id === 'q' && m.type === 'complete'));
    const next = raw.messages.find((m) => m.id === 'q' && m.type === 'next') as {
      payload: { data: unknown; errors?: { extensions: { code: string } }[] };
    };
    expect(JSON.stringify(next.payload)).not.toMatch(/"id":"pipe"/);
    raw.socket.close();
  });

  it('charges one rate limit for a caller over HTTP, WebSocket and SSE alike', async () => {
    const analyst = signToken(TEST_SECRET, { sub: 'analyst-rate', role: 'analyst' });
    const query = '{ bundleTiers { code } }';
    const codes: string[] = [];
    for (let i = 0; i < 2; i++) codes.push(String((await stack.gql(query, {}, analyst)).errors?.[0]?.extensions?.code ?? 'ok'));
    const raw = await initialised(stack.gatewayUrl, analyst);
    for (let i = 0; i < 2; i++) {
      raw.socket.send(JSON.stringify({ id: `w${i}`, type: 'subscribe', payload: { query } }));
      await raw.until(() => raw.messages.some((m) => m.id === `w${i}` && m.type === 'complete'));
      const next = raw.messages.find((m) => m.id === `w${i}` && m.type === 'next') as {
        payload: { errors?: { extensions: { code: string } }[] };
      };
      codes.push(next.payload.errors?.[0]?.extensions.code ?? 'ok');
    }
    const sse = await fetch(`${stack.gatewayUrl}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${analyst}` },
      body: JSON.stringify({ query }),
    });
    codes.push(/RATE_LIMITED/.test(await sse.text()) ? 'RATE_LIMITED' : 'ok');
    // the sixth: over budget on every transport
    codes.push(String((await stack.gql(query, {}, analyst)).errors?.[0]?.extensions?.code ?? 'ok'));
    raw.socket.send(JSON.stringify({ id: 'sub', type: 'subscribe', payload: { query: PROGRESS, variables: { pbxId: pbx } } }));
    await raw.until(() => raw.messages.some((m) => m.id === 'sub' && (m.type === 'error' || m.type === 'complete')));
    codes.push(JSON.stringify(raw.messages.find((m) => m.id === 'sub')).includes('RATE_LIMITED') ? 'RATE_LIMITED' : 'ok');
    expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    raw.socket.close();
  });

  it('applies the same document limits to a subscription as to a query', async () => {
    const raw = await initialised(stack.gatewayUrl, tokens.admin());
    const deep = `subscription { migrationProgress(pbxId: "${pbx}") { migration { pbx { network { customer { networks { customer { networks { customer { networks { customer { networks { id } } } } } } } } } } } } }`;
    raw.socket.send(JSON.stringify({ id: 'deep', type: 'subscribe', payload: { query: deep } }));
    await raw.until(() => raw.messages.some((m) => m.id === 'deep'));
    const refusal = raw.messages.find((m) => m.id === 'deep') as { type: string; payload: { extensions: { code: string } }[] };
    expect(refusal.type).toBe('error');
    expect(refusal.payload.map((e) => e.extensions.code)).toContain('QUERY_TOO_COMPLEX');
    raw.socket.close();
  });

  it('closes a socket whose message is over the size limit, connection_init included', async () => {
    const raw = rawSocket(stack.gatewayUrl);
    await raw.opened;
    raw.socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.admin()}`, junk: 'x'.repeat(200_000) } }),
    );
    expect((await raw.closed).code).toBe(1009);
    expect(raw.messages.some((m) => m.type === 'connection_ack')).toBe(false);
  });

  it('caps subscriptions per connection and per caller', async () => {
    const caller = signToken(TEST_SECRET, { sub: 'many-subs', role: 'admin' });
    const first = await initialised(stack.gatewayUrl, caller);
    for (let i = 0; i < 4; i++)
      first.socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: PROGRESS, variables: { pbxId: pbx } } }));
    await first.until(() => first.messages.some((m) => m.id === 's3'));
    expect(first.messages.find((m) => m.id === 's3')).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code: 'RATE_LIMITED' }, message: expect.stringMatching(/per connection/) }],
    });
    const second = await initialised(stack.gatewayUrl, caller);
    for (let i = 0; i < 3; i++)
      second.socket.send(JSON.stringify({ id: `t${i}`, type: 'subscribe', payload: { query: PROGRESS, variables: { pbxId: pbx } } }));
    await second.until(() => second.messages.some((m) => m.id === 't2'));
    expect(second.messages.find((m) => m.id === 't2')).toMatchObject({
      type: 'error',
      payload: [{ message: expect.stringMatching(/per caller/) }],
    });
    expect(stack.gateway.caps.openOf({ role: 'admin', sub: 'many-subs' })).toBe(5);
    first.socket.close();
    await first.closed;
    await sleep(50);
    expect(stack.gateway.caps.openOf({ role: 'admin', sub: 'many-subs' })).toBe(2);
    second.socket.close();
  });

  it('pings sockets and terminates those that never answer', async () => {
    const silent = rawSocket(stack.gatewayUrl, { autoPong: false });
    const lively = rawSocket(stack.gatewayUrl);
    await Promise.all([silent.opened, lively.opened]);
    for (const raw of [silent, lively])
      raw.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.admin()}` } }));
    expect((await silent.closed).code).toBe(1006); // terminated
    expect(lively.socket.readyState).toBe(WebSocket.OPEN);
    lively.socket.close();
  });

  it('refuses an SSE body over the HTTP limit with 413', async () => {
    const response = await fetch(`${stack.gatewayUrl}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${tokens.admin()}` },
      body: JSON.stringify({ query: '{ bundleTiers { code } }', variables: { junk: 'x'.repeat(1_500_000) } }),
    });
    expect(response.status).toBe(413);
  });

  it("keeps delivering to a subscriber whose token is valid after another subscriber's token in its group expired", async () => {
    const now = Math.floor(Date.now() / 1000);
    const short = signToken(TEST_SECRET, { sub: 'short', role: 'admin' }, 2);
    const long = signToken(TEST_SECRET, { sub: 'long', role: 'admin' }, 3600);
    expect(now).toBeGreaterThan(0);
    const first = subscribeWs<Progress>(stack.gatewayUrl, short, PROGRESS, { pbxId: pbx });
    await sleep(100);
    const second = subscribeWs<Progress>(stack.gatewayUrl, long, PROGRESS, { pbxId: pbx });
    await sleep(200);
    await report();
    await second.until((r) => r.length >= 1);
    await first.until(() => first.errors.length > 0 || first.completed, 5000).catch(() => undefined);
    expect(JSON.stringify(first.errors)).toMatch(/expired/);
    const before = second.results.length;
    await report();
    const results = await second.until((r) => r.length > before);
    expect(second.errors).toEqual([]);
    expect(results.at(-1)!.migrationProgress.migration.itemsDone).toBe(reported);
    await Promise.all([first.dispose(), second.dispose()]);
  });
});
