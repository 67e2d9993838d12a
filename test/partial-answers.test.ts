import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { createTokenVerifier } from '../kernel/identity';
import { RunningGateway, startGateway } from '../gateway/server';
import { contractDocument } from './support/operations';
import { networkOf, serial } from './support/fixtures';
import { GraphQLResult, postGraphQL, startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';

type Dashboard = { network: (Record<string, unknown> & { pbxs: Record<string, unknown>[] }) | null };

/**
 * Partial answers (docs/partial-answers.md): a subgraph that is down or slower
 * than its timeout costs only the fields it owns; each comes back null with an
 * error whose path points at it and whose extensions name the subgraph. The
 * subgraph's return is noticed by the next request, with no restart.
 */
describe('partial answers', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await networkOf(stack, 'pa-co', 'pa-net', 3, 'ba');
  }, 120_000);
  afterAll(() => stack?.stop());

  const dashboard = (url = stack.gatewayUrl) =>
    postGraphQL<Dashboard>(url, contractDocument('NetworkDashboard.graphql'), { networkId: 'pa-net' }, tokens.admin());

  function expectServedWithoutLicensing(result: GraphQLResult<Dashboard>, reason: string) {
    const network = result.data?.network;
    expect(network).toMatchObject({ id: 'pa-net', name: 'Network pa-net', customer: { id: 'pa-co' }, pbxCount: 3 });
    expect(network).toMatchObject({ bundle: null, analyticsRetentionMonths: null, staticIpUsage: null, storage: null });
    expect(network!.pbxs).toHaveLength(3);
    for (const pbx of network!.pbxs) {
      expect(pbx).toMatchObject({ cds: { state: 'NOT_ACTIVATED' }, staticIp: null });
      expect(typeof pbx.name).toBe('string');
    }
    const errors = result.errors ?? [];
    const paths = errors.map((e) => e.path?.join('.')).sort();
    expect(paths).toEqual([
      'network.analyticsRetentionMonths',
      'network.bundle',
      'network.pbxs.0.staticIp',
      'network.pbxs.1.staticIp',
      'network.pbxs.2.staticIp',
      'network.staticIpUsage',
      'network.storage',
    ]);
    for (const error of errors) {
      expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', subgraph: 'licensing', reason });
      expect(error.message).toMatch(/licensing subgraph/);
    }
  }

  it('serves the network, its PBXs and their CDS states while licensing is down, and recovers when it returns', async () => {
    const before = await dashboard();
    expect(before.errors).toBeUndefined();

    const licensing = stack.subgraphs.licensing.http;
    await licensing.close();
    try {
      expectServedWithoutLicensing(await dashboard(), 'UNAVAILABLE');

      // A mutation owned by the dead subgraph answers an error with its path, never a bare data: null.
      const order = await stack.gql(`mutation { orderBundle(input: { networkId: "pa-net", code: "CDS-50" }) { __typename } }`);
      expect(order.data).toBeNull();
      expect(order.errors?.[0]).toMatchObject({ path: ['orderBundle'], extensions: { subgraph: 'licensing', reason: 'UNAVAILABLE' } });

      // A field from another subgraph (network) still answers beside it.
      const pbx = await stack.gql<{ pbx: { name: string; bundle: unknown } }>(
        `query ($id: ID!) { pbx(id: $id) { name bundle { source } } }`,
        { id: serial(1, 'ba') },
      );
      expect(pbx.data?.pbx).toEqual({ name: expect.any(String), bundle: null });
      expect(pbx.errors?.map((e) => e.path)).toEqual([['pbx', 'bundle']]);
    } finally {
      await new Promise<void>((resolve) => licensing.server.listen(licensing.port, '127.0.0.1', resolve));
    }
    const after = await dashboard();
    expect(after.errors).toBeUndefined();
    expect(after.data?.network).toMatchObject({ bundle: { source: 'DEFAULT' }, storage: { usedBytes: 0 } });
  });

  it('answers without a subgraph slower than its timeout, and with it once it is fast again', async () => {
    // A delaying proxy in front of the real licensing subgraph.
    const target = new URL(stack.subgraphs.licensing.url);
    let delayMs = 6_000;
    const proxy = http.createServer((req, res) => {
      setTimeout(() => {
        const upstream = http.request(
          { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      }, delayMs).unref();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const urls = Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url]));
    urls.licensing = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    let gateway: RunningGateway | null = null;
    try {
      gateway = await startGateway({
        port: 0,
        host: '127.0.0.1',
        supergraphSdl: fs.readFileSync(path.join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'),
        subgraphUrls: urls,
        verifier: createTokenVerifier({ secret: TEST_SECRET }),
        subgraphTimeoutsMs: { licensing: 1_500 },
        cdsStores: {
          forRegion: () => {
            throw new Error('not used');
          },
        },
      });
      const started = Date.now();
      const slow = await dashboard(gateway.url);
      expect(Date.now() - started).toBeLessThan(delayMs);
      expectServedWithoutLicensing(slow, 'TIMEOUT');
      expect(slow.errors?.[0].message).toBe('The licensing subgraph did not answer within 1500 ms');

      delayMs = 0;
      const fast = await dashboard(gateway.url);
      expect(fast.errors).toBeUndefined();
      expect(fast.data?.network?.bundle).toMatchObject({ source: 'DEFAULT' });
    } finally {
      await gateway?.stop();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
