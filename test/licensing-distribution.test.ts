import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { contractOperation } from './support/operations';
import { GraphQLResult, startTestStack, TestStack, tokens } from './support/harness';

interface Row {
  tier: { code: string };
  networks: number;
  standalonePbxs: number;
}

/**
 * bundleDistribution (part of AnalystOverview): how many networks and
 * standalone PBXs hold each tier, all five listed, optionally for a region.
 */
describe('bundleDistribution', () => {
  let stack: TestStack;
  const QUERY = `query ($region: String) { bundleDistribution(region: $region) { tier { code } networks standalonePbxs } }`;
  const distribution = (region: string | null, token = tokens.analyst()) =>
    stack.gql<{ bundleDistribution: Row[] }>(QUERY, { region }, token);
  const rows = async (region: string | null) => {
    const result = await distribution(region);
    expect(result.errors).toBeUndefined();
    return result.data!.bundleDistribution.map((r) => [r.tier.code, r.networks, r.standalonePbxs]);
  };
  const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
  const order = (vars: { networkId?: string; pbxId?: string; code: string }) =>
    stack.ok(contractOperation('Licensing.graphql', 'OrderBundle'), vars);
  const [EU, US] = ['eu-central-1', 'us-east-1'];

  beforeAll(async () => {
    stack = await startTestStack();
    await createCustomer(stack, 'bd-co');
    // Networks: A (2 PBXs in EU) CDS-50; B (1 in EU, 1 in US) CDS-500; C (2 in US) DEFAULT; D (no PBXs) DEFAULT.
    const networks: [string, string[]][] = [
      ['bd-a', [EU, EU]],
      ['bd-b', [EU, US]],
      ['bd-c', [US, US]],
      ['bd-d', []],
    ];
    for (const [id, regions] of networks) {
      await createNetwork(stack, 'bd-co', id);
      for (const [i, region] of regions.entries())
        await registerPbx(stack, { id: serial(i + 1, `d${id.slice(-1)}`), customerId: 'bd-co', networkId: id, region });
    }
    // Standalone PBXs: s1 (EU) CDS-10, s2 (US) CDS-10, s3 (EU) DEFAULT, s4 (US) CDS-5000; s5 ordered CDS-10, then joined C.
    const standalone: [number, string][] = [
      [1, EU],
      [2, US],
      [3, EU],
      [4, US],
      [5, US],
    ];
    for (const [n, region] of standalone) await registerPbx(stack, { id: serial(n, 'd9'), customerId: 'bd-co', region });
    await stack.settle();
    await order({ networkId: 'bd-a', code: 'CDS-50' });
    await order({ networkId: 'bd-b', code: 'CDS-500' });
    await order({ pbxId: serial(1, 'd9'), code: 'CDS-10' });
    await order({ pbxId: serial(2, 'd9'), code: 'CDS-10' });
    await order({ pbxId: serial(4, 'd9'), code: 'CDS-5000' });
    await order({ pbxId: serial(5, 'd9'), code: 'CDS-10' });
    await stack.ok(`mutation { assignPbxToNetwork(pbxId: "${serial(5, 'd9')}", networkId: "bd-c") { pbx { id } } }`);
    await stack.settle();
  }, 120_000);
  afterAll(() => stack?.stop());

  test('counts every holder by tier, all five tiers listed in catalogue order', async () => {
    expect(await rows(null)).toEqual([
      ['DEFAULT', 2, 1],
      ['CDS-10', 0, 2],
      ['CDS-50', 1, 0],
      ['CDS-500', 1, 0],
      ['CDS-5000', 0, 1],
    ]);
  });

  test('a region counts its standalone PBXs and the networks with a PBX in it', async () => {
    expect(await rows(EU)).toEqual([
      ['DEFAULT', 0, 1],
      ['CDS-10', 0, 1],
      ['CDS-50', 1, 0],
      ['CDS-500', 1, 0],
      ['CDS-5000', 0, 0],
    ]);
    expect(await rows(' US-East-1 ')).toEqual([
      ['DEFAULT', 1, 0],
      ['CDS-10', 0, 1],
      ['CDS-50', 0, 0],
      ['CDS-500', 1, 0],
      ['CDS-5000', 0, 1],
    ]);
    expect(await rows('ap-south-1')).toEqual([
      ['DEFAULT', 0, 0],
      ['CDS-10', 0, 0],
      ['CDS-50', 0, 0],
      ['CDS-500', 0, 0],
      ['CDS-5000', 0, 0],
    ]);
    expect(codeOf(await distribution('europe'))).toBe('BAD_USER_INPUT');
  });

  test('costs the same few statements however large the fleet', async () => {
    const counter = stack.subgraphs.licensing.runtime.counter;
    counter.reset();
    await rows(EU);
    expect(counter.count).toBeLessThanOrEqual(3);
  });

  test('analysts and admins only', async () => {
    expect((await distribution(null, tokens.admin())).errors).toBeUndefined();
    for (const token of [tokens.partner(['bd-co']), tokens.pbx(serial(1, 'd9'))])
      expect(codeOf(await distribution(null, token))).toBe('FORBIDDEN');
  });
});
