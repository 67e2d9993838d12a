import { SUBGRAPH_NAMES, SubgraphName } from '../kernel/config';
import { contractDocument } from './support/operations';
import { networkOf } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

/**
 * NetworkDashboard in one request, and its cost: the SQL statements each
 * subgraph runs for it must not grow with the number of PBXs (no N+1).
 */
describe('NetworkDashboard', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ keepStatements: true });
    await networkOf(stack, 'small-co', 'small-net', 5, '5a');
    await networkOf(stack, 'large-co', 'large-net', 200, '7b');
  }, 240_000);
  afterAll(() => stack?.stop());

  /** Statements per subgraph for one request (the counter leaves out the outbox relay's background polling). */
  async function statementsFor(networkId: string): Promise<Record<SubgraphName, number>> {
    for (const name of SUBGRAPH_NAMES) stack.subgraphs[name].runtime.counter.reset();
    const result = await stack.gql(contractDocument('NetworkDashboard.graphql'), { networkId }, tokens.admin());
    expect(result.errors).toBeUndefined();
    const counts = {} as Record<SubgraphName, number>;
    for (const name of SUBGRAPH_NAMES) {
      counts[name] = stack.subgraphs[name].runtime.counter.count;
    }
    return counts;
  }

  it('shows the network, its PBXs, bundle, static IPs and storage in one request', async () => {
    const { network } = await stack.ok<{ network: Record<string, unknown> & { pbxs: Record<string, unknown>[] } }>(
      contractDocument('NetworkDashboard.graphql'),
      { networkId: 'small-net' },
      tokens.partner(['small-co']),
    );
    expect(network).toMatchObject({
      id: 'small-net',
      customer: { id: 'small-co' },
      pbxCount: 5,
      bundle: {
        tier: { code: 'DEFAULT', storageBytes: 5_000_000_000, analyticsRetentionMonths: 3, staticIpAllowance: 0 },
        source: 'DEFAULT',
        needsUpgrade: false,
      },
      analyticsRetentionMonths: 3,
      staticIpUsage: { allowance: 0, assigned: 0, available: 0 },
      storage: { usedBytes: 0, capacityBytes: 5_000_000_000, usageRatio: 0 },
    });
    expect(network.pbxs).toHaveLength(5);
    for (const pbx of network.pbxs) {
      expect(pbx).toMatchObject({
        wmsVersion: '6.04.20230901.1',
        region: 'eu-central-1',
        cds: { state: 'NOT_ACTIVATED', usedBytes: 0 },
        currentMigration: null,
        staticIp: null,
      });
    }
    expect(new Set(network.pbxs.map((p) => p.kind))).toEqual(new Set(['CLOUD', 'VIRTUAL', 'HARDWARE']));
  });

  it('costs the same number of SQL statements in every subgraph for 5 PBXs as for 200', async () => {
    await statementsFor('small-net'); // warm-up: first requests may prepare plans or caches
    const small = await statementsFor('small-net');
    const large = await statementsFor('large-net');
    expect(large).toEqual(small);
    for (const name of SUBGRAPH_NAMES) expect(small[name]).toBeLessThanOrEqual(8);
    // The shape of the check itself: the counter does see statements.
    expect(small.network).toBeGreaterThan(0);
  });
});
