import { BundleHolding } from '../subgraphs/licensing/entities/bundle-holding';
import { createCustomer, createNetwork, networkOf, registerPbx, serial } from './support/fixtures';
import { contractDocument, contractOperation, provisioning } from './support/operations';
import { GraphQLResult, startTestStack, TestStack, tokens } from './support/harness';

const GB = 1_000_000_000;

interface Bundle {
  tier: { code: string };
  source: string;
  effectiveFrom: string | null;
  needsUpgrade: boolean;
}
interface Usage {
  allowance: number;
  assigned: number;
  available: number;
  overAllowance: boolean;
}

/**
 * Ordering bundles (DOMAIN.md rules 6 and 7) through the gateway, and what
 * follows for a network, its PBXs and standalone PBXs, also when a PBX joins
 * or leaves a network.
 */
describe('orderBundle', () => {
  let stack: TestStack;
  const small = 'ob-small'; // 3 PBXs
  const big = 'ob-big'; // 6 PBXs
  const standalone = serial(1, 'b3');
  const otherStandalone = serial(1, 'b4');

  const orderDoc = contractOperation('Licensing.graphql', 'OrderBundle');
  const order = (vars: { networkId?: string | null; pbxId?: string | null; code: string }, token = tokens.admin()) =>
    stack.gql<{ orderBundle: { bundle: Bundle } }>(orderDoc, vars, token);
  const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
  const messageOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.message ?? '';
  const holdings = () =>
    stack.subgraphs.licensing.runtime.db.getRepository(BundleHolding).find({ order: { holderType: 'ASC', holderId: 'ASC' } });
  const HOLDER_QUERY = `query ($id: ID!) { pbx(id: $id) {
    bundle { tier { code } source needsUpgrade } analyticsRetentionMonths staticIp { address }
    staticIpUsage { allowance assigned available overAllowance } holderStorage { capacityBytes }
  } }`;
  const pbxHolder = (id: string) =>
    stack
      .ok<{
        pbx: {
          bundle: Bundle;
          analyticsRetentionMonths: number;
          staticIp: { address: string } | null;
          staticIpUsage: Usage;
          holderStorage: { capacityBytes: number };
        };
      }>(HOLDER_QUERY, { id })
      .then((d) => d.pbx);
  const NETWORK_QUERY = `query ($id: ID!) { network(id: $id) {
    pbxCount bundle { tier { code } source needsUpgrade } analyticsRetentionMonths
    staticIpUsage { allowance assigned available overAllowance } storage { capacityBytes }
  } }`;
  const network = (id: string) =>
    stack
      .ok<{
        network: {
          pbxCount: number;
          bundle: Bundle;
          analyticsRetentionMonths: number;
          staticIpUsage: Usage;
          storage: { capacityBytes: number };
        };
      }>(NETWORK_QUERY, { id })
      .then((d) => d.network);
  const moveTo = async (pbxId: string, networkId: string | null) => {
    await stack.ok(`mutation ($pbxId: ID!, $networkId: ID) { assignPbxToNetwork(pbxId: $pbxId, networkId: $networkId) { pbx { id } } }`, {
      pbxId,
      networkId,
    });
    await stack.settle();
  };

  beforeAll(async () => {
    stack = await startTestStack();
    await networkOf(stack, 'ob-co', small, 3, 'b1');
    await createNetwork(stack, 'ob-co', big);
    for (let i = 1; i <= 6; i++) await registerPbx(stack, { id: serial(i, 'b2'), customerId: 'ob-co', networkId: big });
    await registerPbx(stack, { id: standalone, customerId: 'ob-co' });
    await createCustomer(stack, 'ob-other');
    await registerPbx(stack, { id: otherStandalone, customerId: 'ob-other' });
    await stack.settle();
  }, 120_000);
  afterAll(() => stack?.stop());

  test("a network's order is shared by its PBXs: capacity, retention and allowance follow", async () => {
    const before = Date.now();
    const result = await order({ networkId: small, code: 'CDS-50' });
    expect(result.errors).toBeUndefined();
    const { bundle } = result.data!.orderBundle;
    expect(bundle).toMatchObject({ tier: { code: 'CDS-50' }, source: 'ORDERED', needsUpgrade: false });
    expect(Date.parse(bundle.effectiveFrom!)).toBeGreaterThanOrEqual(before - 1000);

    expect(await network(small)).toMatchObject({
      bundle: { tier: { code: 'CDS-50' }, source: 'ORDERED', needsUpgrade: false },
      analyticsRetentionMonths: 60,
      staticIpUsage: { allowance: 5, assigned: 0, available: 5, overAllowance: false },
      storage: { capacityBytes: 50 * GB },
    });
    expect(await pbxHolder(serial(2, 'b1'))).toMatchObject({
      bundle: { tier: { code: 'CDS-50' }, source: 'ORDERED' },
      analyticsRetentionMonths: 60,
      staticIpUsage: { allowance: 5 },
      holderStorage: { capacityBytes: 50 * GB },
    });
  });

  test('a standalone PBX orders its own bundle', async () => {
    const result = await order({ pbxId: standalone.toUpperCase(), code: 'cds-10' });
    expect(result.data?.orderBundle.bundle).toMatchObject({ tier: { code: 'CDS-10' }, source: 'ORDERED', needsUpgrade: false });
    expect(await pbxHolder(standalone)).toMatchObject({
      bundle: { tier: { code: 'CDS-10' } },
      analyticsRetentionMonths: 12,
      staticIpUsage: { allowance: 1, assigned: 0, available: 1 },
      holderStorage: { capacityBytes: 10 * GB },
    });
    const { customer } = await stack.ok<{
      customer: { standalonePbxs: { id: string; bundle: { tier: { code: string }; source: string } }[] };
    }>(contractDocument('StandalonePbxs.graphql'), { customerId: 'ob-co' });
    expect(customer.standalonePbxs).toEqual([
      expect.objectContaining({ id: standalone, bundle: { tier: { code: 'CDS-10' }, source: 'ORDERED' } }),
    ]);
  });

  test('refusals say why and change nothing', async () => {
    const before = await holdings();
    const conflicts: [Parameters<typeof order>[0], RegExp][] = [
      [{ networkId: small, code: 'CDS-10' }, /^Bundle not ordered: CDS-10 is for standalone PBXs only; network 'ob-small'/],
      [{ networkId: big, code: 'CDS-50' }, /^Bundle not ordered: CDS-50 is for networks of at most 5 PBXs; network 'ob-big' has 6/],
      [{ networkId: small, code: 'DEFAULT' }, /DEFAULT is what a holder has without a bundle; it cannot be ordered/],
      [
        { pbxId: serial(1, 'b1'), code: 'CDS-500' },
        /PBX '.+' is in network 'ob-small', which holds the bundle all its PBXs share; order the bundle for network 'ob-small' instead/,
      ],
    ];
    for (const [vars, message] of conflicts) {
      const refused = await order(vars);
      expect(codeOf(refused)).toBe('CONFLICT');
      expect(messageOf(refused)).toMatch(message);
    }
    const unknownCode = await order({ networkId: small, code: 'CDS-7' });
    expect(codeOf(unknownCode)).toBe('BAD_USER_INPUT');
    expect(messageOf(unknownCode)).toBe("'CDS-7' is not a bundle: choose one of CDS-10, CDS-50, CDS-500, CDS-5000");
    expect(codeOf(await order({ networkId: small, pbxId: standalone, code: 'CDS-50' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await order({ code: 'CDS-50' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await order({ networkId: 'no-such-net', code: 'CDS-50' }))).toBe('NOT_FOUND');
    expect(codeOf(await order({ pbxId: 'ffffffffffff', code: 'CDS-50' }))).toBe('NOT_FOUND');
    expect(await holdings()).toEqual(before);
  });

  test("admins and the customer's partner order; other partners, analysts and PBXs are refused", async () => {
    const before = await holdings();
    for (const token of [tokens.partner(['ob-other']), tokens.analyst(), tokens.pbx(standalone)]) {
      expect(codeOf(await order({ pbxId: standalone, code: 'CDS-500' }, token))).toBe('FORBIDDEN');
      expect(codeOf(await order({ networkId: small, code: 'CDS-500' }, token))).toBe('FORBIDDEN');
    }
    expect(await holdings()).toEqual(before);
    const partner = await order({ pbxId: otherStandalone, code: 'CDS-50' }, tokens.partner(['ob-other']));
    expect(partner.data?.orderBundle.bundle.tier.code).toBe('CDS-50');
  });

  test('ordering the bundle held changes nothing; another tier replaces it', async () => {
    const [held] = (await holdings()).filter((h) => h.holderId === small);
    const again = await order({ networkId: small, code: 'CDS-50' });
    expect(again.data?.orderBundle.bundle.effectiveFrom).toBe(held.effectiveFrom.toISOString());
    expect((await holdings()).filter((h) => h.holderId === small)).toEqual([held]);
    const bigger = await order({ networkId: big, code: 'CDS-500' });
    expect(bigger.data?.orderBundle.bundle).toMatchObject({ tier: { code: 'CDS-500' }, source: 'ORDERED', needsUpgrade: false });
    expect(await network(big)).toMatchObject({
      analyticsRetentionMonths: 120,
      staticIpUsage: { allowance: 6 },
      storage: { capacityBytes: 500 * GB },
    });
  });

  test('a CDS-50 network that grows past 5 PBXs keeps working and needs an upgrade; ordering CDS-500 settles it', async () => {
    await createNetwork(stack, 'ob-co', 'ob-grow');
    for (let i = 1; i <= 5; i++) await registerPbx(stack, { id: serial(i, 'b5'), customerId: 'ob-co', networkId: 'ob-grow' });
    await stack.settle();
    expect((await order({ networkId: 'ob-grow', code: 'CDS-50' })).data?.orderBundle.bundle.needsUpgrade).toBe(false);
    await registerPbx(stack, { id: serial(6, 'b5'), customerId: 'ob-co', networkId: 'ob-grow' });
    await stack.settle();
    expect(await network('ob-grow')).toMatchObject({
      pbxCount: 6,
      bundle: { tier: { code: 'CDS-50' }, needsUpgrade: true },
      staticIpUsage: { allowance: 5 },
    });
    // Re-ordering CDS-50 for the 6-PBX network is refused; CDS-500 is the upgrade.
    expect(codeOf(await order({ networkId: 'ob-grow', code: 'CDS-50' }))).toBe('CONFLICT');
    expect((await order({ networkId: 'ob-grow', code: 'CDS-500' })).data?.orderBundle.bundle).toMatchObject({
      tier: { code: 'CDS-500' },
      needsUpgrade: false,
    });
  });

  test('a PBX that joins a network takes its bundle at once; leaving, it gets its own back; its static IP stays, flagged over the allowance', async () => {
    await createNetwork(stack, 'ob-co', 'ob-plain'); // holds DEFAULT: no static IPs
    await registerPbx(stack, { id: serial(1, 'b6'), customerId: 'ob-co', networkId: 'ob-plain' });
    await stack.ok(provisioning.addStaticIpPool(), { region: 'eu-central-1', addresses: ['198.51.100.77'] });
    await stack.settle();
    const assigned = await stack.ok<{ assignStaticIp: { staticIp: { address: string } } }>(
      contractOperation('Licensing.graphql', 'AssignStaticIp'),
      { pbxId: standalone },
    );
    expect(assigned.assignStaticIp.staticIp.address).toBe('198.51.100.77');

    await moveTo(standalone, 'ob-plain');
    expect(await pbxHolder(standalone)).toEqual({
      bundle: { tier: { code: 'DEFAULT' }, source: 'DEFAULT', needsUpgrade: false },
      analyticsRetentionMonths: 3,
      staticIp: { address: '198.51.100.77' },
      staticIpUsage: { allowance: 0, assigned: 1, available: 0, overAllowance: true },
      holderStorage: { capacityBytes: 5 * GB },
    });
    expect((await network('ob-plain')).staticIpUsage).toEqual({ allowance: 0, assigned: 1, available: 0, overAllowance: true });
    // No more addresses for the network while it is over its allowance.
    const refused = await stack.gql(contractOperation('Licensing.graphql', 'AssignStaticIp'), { pbxId: serial(1, 'b6') });
    expect(codeOf(refused)).toBe('CONFLICT');

    await moveTo(standalone, null);
    expect(await pbxHolder(standalone)).toEqual({
      bundle: { tier: { code: 'CDS-10' }, source: 'ORDERED', needsUpgrade: false },
      analyticsRetentionMonths: 12,
      staticIp: { address: '198.51.100.77' },
      staticIpUsage: { allowance: 1, assigned: 1, available: 0, overAllowance: false },
      holderStorage: { capacityBytes: 10 * GB },
    });
    expect((await network('ob-plain')).staticIpUsage).toEqual({ allowance: 0, assigned: 0, available: 0, overAllowance: false });
  });

  test("a network's PBXs' licensing fields cost the same statements for 3 PBXs as for 6", async () => {
    const counter = stack.subgraphs.licensing.runtime.counter;
    const query = `query ($id: ID!) { network(id: $id) { pbxs { id
      bundle { tier { code } needsUpgrade } analyticsRetentionMonths staticIp { address }
      staticIpUsage { allowance assigned available overAllowance } holderStorage { usedBytes capacityBytes alertActive alertRaisedAt }
    } } }`;
    const statements = async (id: string) => {
      await stack.settle();
      counter.reset();
      await stack.ok(query, { id });
      return counter.count;
    };
    await statements(small); // warm-up
    const few = await statements(small);
    expect(await statements(big)).toBe(few);
    expect(few).toBeLessThanOrEqual(10);
  });
});
