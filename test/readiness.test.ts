import { startTestStack, TestStack } from './support/harness';

/** /ready tells the truth: the gateway reports each subgraph and the bus, each subgraph its database and bus; 503 when any fails. */
describe('readiness', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  }, 60_000);
  afterAll(() => stack?.stop());

  const ready = async (base: string) => {
    const response = await fetch(`${base}/ready`);
    return {
      status: response.status,
      body: (await response.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> },
    };
  };
  const gatewayBase = () => stack.gatewayUrl.replace(/\/graphql$/, '');

  it('reports each subgraph and the bus at the gateway, and the database and bus at each subgraph', async () => {
    const gateway = await ready(gatewayBase());
    expect(gateway.status).toBe(200);
    expect(gateway.body.status).toBe('ready');
    expect(Object.keys(gateway.body.checks).sort()).toEqual([
      'bus',
      'subgraph:licensing',
      'subgraph:network',
      'subgraph:recordings',
      'subgraph:storage',
    ]);
    for (const subgraph of Object.values(stack.subgraphs)) {
      const own = await ready(subgraph.http.url);
      expect(own).toMatchObject({ status: 200, body: { status: 'ready', checks: { database: { ok: true }, bus: { ok: true } } } });
    }
  });

  it('answers 503 naming the subgraph that is down, and 200 again once it is back', async () => {
    const licensing = stack.subgraphs.licensing.http;
    await licensing.close();
    try {
      const down = await ready(gatewayBase());
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('not ready');
      expect(down.body.checks['subgraph:licensing'].ok).toBe(false);
      expect(down.body.checks['subgraph:network'].ok).toBe(true);
    } finally {
      await new Promise<void>((resolve) => licensing.server.listen(licensing.port, '127.0.0.1', resolve));
    }
    expect((await ready(gatewayBase())).status).toBe(200);
  });

  it('answers 503 when a subgraph cannot reach its database', async () => {
    const storage = stack.subgraphs.storage;
    const query = storage.runtime.db.query.bind(storage.runtime.db);
    // The database connection is lost: every statement fails as it would.
    storage.runtime.db.query = (() => Promise.reject(new Error('connection lost'))) as typeof storage.runtime.db.query;
    try {
      const down = await ready(storage.http.url);
      expect(down).toMatchObject({
        status: 503,
        body: { checks: { database: { ok: false, error: 'connection lost' }, bus: { ok: true } } },
      });
      expect((await ready(gatewayBase())).body.checks['subgraph:storage'].ok).toBe(false);
    } finally {
      storage.runtime.db.query = query;
    }
  });
});
