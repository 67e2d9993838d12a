import { BundleSource } from '../kernel/domain/enums';
import { BundleHolding } from '../subgraphs/licensing/entities/bundle-holding';
import { LegacyLicense } from '../subgraphs/licensing/entities/legacy-license';
import { StaticIpAddress } from '../subgraphs/licensing/entities/static-ip-address';
import { HolderType } from '../subgraphs/licensing/holders';
import { seedLicensing } from '../subgraphs/licensing/seed';
import { createCustomer, networkOf, registerPbx, serial } from './support/fixtures';
import { contractDocument, provisioning } from './support/operations';
import { postGraphQL, startTestStack, TestStack, tokens } from './support/harness';

const GB = 1_000_000_000;

interface NetworkLicensing {
  bundle: {
    tier: { code: string; storageBytes: number; analyticsRetentionMonths: number; staticIpAllowance: number | null };
    source: string;
    effectiveFrom: string | null;
    needsUpgrade: boolean;
  };
  analyticsRetentionMonths: number;
  staticIpUsage: { allowance: number; assigned: number; available: number };
  storage: { usedBytes: number; capacityBytes: number; usageRatio: number };
  pbxs: { id: string; staticIp: { address: string; assignedAt: string } | null }[];
}

/**
 * The licensing subgraph (DOMAIN.md rules 6-8): the catalogue, what networks
 * and standalone PBXs hold, the figures that follow, and the two admin
 * provisioning mutations, all through the gateway.
 */
describe('licensing', () => {
  let stack: TestStack;
  const net = 'lic-net';
  const netPbx = (n: number) => serial(n, 'c1');
  const standalone = serial(1, 'c2');
  const otherStandalone = serial(1, 'c3');

  const dashboard = (networkId: string, token = tokens.admin()) =>
    stack.ok<{ network: NetworkLicensing }>(contractDocument('NetworkDashboard.graphql'), { networkId }, token).then((d) => d.network);
  const pbxDetails = (pbxId: string, token = tokens.admin()) =>
    stack
      .ok<{
        pbx: {
          bundle: { tier: { code: string; storageBytes: number }; source: string; effectiveFrom: string | null; needsUpgrade: boolean };
          analyticsRetentionMonths: number;
          staticIp: { address: string } | null;
        };
      }>(contractDocument('PbxDetails.graphql'), { pbxId }, token)
      .then((d) => d.pbx);
  const licensingDb = () => stack.subgraphs.licensing.runtime.db;

  beforeAll(async () => {
    stack = await startTestStack({ keepStatements: true });
    await networkOf(stack, 'lic-co', net, 3, 'c1');
    await registerPbx(stack, { id: standalone, customerId: 'lic-co' });
    await createCustomer(stack, 'other-co');
    await registerPbx(stack, { id: otherStandalone, customerId: 'other-co', region: 'us-east-1' });
    await stack.settle();
  }, 120_000);
  afterAll(() => stack?.stop());

  test('bundleTiers lists the catalogue of rule 7, DEFAULT first, smallest to largest', async () => {
    const { bundleTiers } = await stack.ok<{ bundleTiers: unknown[] }>(contractDocument('BundleCatalog.graphql'), {}, tokens.analyst());
    expect(bundleTiers).toEqual([
      {
        code: 'DEFAULT',
        storageBytes: 5 * GB,
        analyticsRetentionMonths: 3,
        staticIpAllowance: 0,
        standaloneOnly: false,
        maxNetworkPbxs: null,
      },
      {
        code: 'CDS-10',
        storageBytes: 10 * GB,
        analyticsRetentionMonths: 12,
        staticIpAllowance: 1,
        standaloneOnly: true,
        maxNetworkPbxs: null,
      },
      {
        code: 'CDS-50',
        storageBytes: 50 * GB,
        analyticsRetentionMonths: 60,
        staticIpAllowance: 5,
        standaloneOnly: false,
        maxNetworkPbxs: 5,
      },
      {
        code: 'CDS-500',
        storageBytes: 500 * GB,
        analyticsRetentionMonths: 120,
        staticIpAllowance: null,
        standaloneOnly: false,
        maxNetworkPbxs: null,
      },
      {
        code: 'CDS-5000',
        storageBytes: 5000 * GB,
        analyticsRetentionMonths: 120,
        staticIpAllowance: null,
        standaloneOnly: false,
        maxNetworkPbxs: null,
      },
    ]);
  });

  test('a holder without a bundle holds DEFAULT: 5 GB, 3 months, no static IPs', async () => {
    const network = await dashboard(net);
    expect(network).toMatchObject({
      bundle: {
        tier: { code: 'DEFAULT', storageBytes: 5 * GB, analyticsRetentionMonths: 3, staticIpAllowance: 0 },
        source: 'DEFAULT',
        effectiveFrom: null,
        needsUpgrade: false,
      },
      analyticsRetentionMonths: 3,
      staticIpUsage: { allowance: 0, assigned: 0, available: 0 },
      storage: { usedBytes: 0, capacityBytes: 5 * GB, usageRatio: 0 },
    });
    const pbx = await pbxDetails(standalone);
    expect(pbx).toMatchObject({
      bundle: { tier: { code: 'DEFAULT' }, source: 'DEFAULT', effectiveFrom: null, needsUpgrade: false },
      analyticsRetentionMonths: 3,
      staticIp: null,
    });
  });

  test("a network's PBXs share its bundle; a standalone PBX holds its own", async () => {
    const since = new Date('2024-03-01T00:00:00.000Z');
    await seedLicensing(licensingDb(), {
      holdings: [
        { holderType: HolderType.NETWORK, holderId: net, tierCode: 'CDS-50', effectiveFrom: since },
        { holderType: HolderType.PBX, holderId: standalone, tierCode: 'CDS-10', source: BundleSource.ROUND_UP_TRANSITION },
      ],
    });
    const network = await dashboard(net);
    expect(network).toMatchObject({
      bundle: {
        tier: { code: 'CDS-50', storageBytes: 50 * GB, staticIpAllowance: 5 },
        source: 'ORDERED',
        effectiveFrom: since.toISOString(),
        needsUpgrade: false,
      },
      analyticsRetentionMonths: 60,
      staticIpUsage: { allowance: 5, assigned: 0, available: 5 },
      storage: { capacityBytes: 50 * GB },
    });
    expect(await pbxDetails(netPbx(2))).toMatchObject({
      bundle: { tier: { code: 'CDS-50' }, source: 'ORDERED' },
      analyticsRetentionMonths: 60,
    });
    expect(await pbxDetails(standalone)).toMatchObject({
      bundle: { tier: { code: 'CDS-10' }, source: 'ROUND_UP_TRANSITION' },
      analyticsRetentionMonths: 12,
    });

    const { customer } = await stack.ok<{
      customer: { standalonePbxs: { id: string; bundle: { tier: { code: string }; source: string } }[] };
    }>(contractDocument('StandalonePbxs.graphql'), { customerId: 'lic-co' }, tokens.partner(['lic-co']));
    expect(customer.standalonePbxs).toEqual([
      expect.objectContaining({ id: standalone, bundle: { tier: { code: 'CDS-10' }, source: 'ROUND_UP_TRANSITION' } }),
    ]);
  });

  test('a CDS-50 network that grows past 5 PBXs keeps its bundle and needs an upgrade', async () => {
    await networkOf(stack, 'grow-co', 'grow-net', 5, 'd1');
    await seedLicensing(licensingDb(), { holdings: [{ holderType: HolderType.NETWORK, holderId: 'grow-net', tierCode: 'CDS-50' }] });
    expect((await dashboard('grow-net')).bundle).toMatchObject({ tier: { code: 'CDS-50' }, needsUpgrade: false });
    await registerPbx(stack, { id: serial(6, 'd1'), customerId: 'grow-co', networkId: 'grow-net' });
    await stack.settle();
    const network = await dashboard('grow-net');
    expect(network.bundle).toMatchObject({ tier: { code: 'CDS-50' }, needsUpgrade: true });
    expect(network.staticIpUsage).toEqual({ allowance: 5, assigned: 0, available: 5 });
  });

  test('CDS-500 allows a static IP on every PBX; assignments show on the network and the PBX', async () => {
    await seedLicensing(licensingDb(), {
      holdings: [{ holderType: HolderType.NETWORK, holderId: net, tierCode: 'CDS-500' }],
      pools: [{ region: 'eu-central-1', addresses: ['198.51.100.1', '198.51.100.2', '198.51.100.3'] }],
      staticIps: [{ address: '198.51.100.2', pbxId: netPbx(1), assignedAt: new Date('2024-04-01T10:00:00.000Z') }],
    });
    const network = await dashboard(net);
    expect(network.bundle.tier).toMatchObject({ code: 'CDS-500', staticIpAllowance: null });
    expect(network.analyticsRetentionMonths).toBe(120);
    expect(network.staticIpUsage).toEqual({ allowance: 3, assigned: 1, available: 2 });
    expect(network.pbxs.find((p) => p.id === netPbx(1))?.staticIp).toEqual({
      address: '198.51.100.2',
      assignedAt: '2024-04-01T10:00:00.000Z',
    });
    expect(network.pbxs.filter((p) => p.staticIp === null)).toHaveLength(2);
    expect((await pbxDetails(netPbx(1))).staticIp).toEqual({ address: '198.51.100.2', assignedAt: '2024-04-01T10:00:00.000Z' });
  });

  test('storage sums the CDS usage storage announces over the network, newest revision only', async () => {
    const storage = stack.subgraphs.storage.runtime;
    const announce = (pbxId: string, usedBytes: number, revision: number) =>
      storage.transact((em) => storage.emit(em, 'CdsUsageChanged', pbxId, { pbxId, usedBytes, revision }));
    await announce(netPbx(1), 100 * GB, 10);
    await announce(netPbx(2), 150 * GB, 10);
    await announce(standalone, 7 * GB, 10); // another holder: not counted for the network
    await stack.settle();
    expect((await dashboard(net)).storage).toEqual({ usedBytes: 250 * GB, capacityBytes: 500 * GB, usageRatio: 0.5 });
    // A late, older figure changes nothing; a newer one replaces the PBX's figure.
    await announce(netPbx(1), 1 * GB, 9);
    await announce(netPbx(2), 50 * GB, 11);
    await stack.settle();
    expect((await dashboard(net)).storage).toEqual({ usedBytes: 150 * GB, capacityBytes: 500 * GB, usageRatio: 0.3 });
  });

  test('reads are scoped: a partner of another customer is refused, a PBX sees its own network', async () => {
    const refused = await stack.gql(contractDocument('PbxDetails.graphql'), { pbxId: standalone }, tokens.partner(['other-co']));
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const own = await pbxDetails(netPbx(3), tokens.pbx(netPbx(3)));
    expect(own.bundle.tier.code).toBe('CDS-500');

    // Straight at the subgraph: _entities is scoped by the directory, not by the representation.
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on WmsNetwork { id bundle { tier { code } } } } }`;
    const r = [{ __typename: 'WmsNetwork', id: net }];
    const direct = await postGraphQL(stack.subgraphs.licensing.url, query, { r }, tokens.partner(['other-co']));
    expect(direct.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const sibling = await postGraphQL<{ _entities: unknown[] }>(stack.subgraphs.licensing.url, query, { r }, tokens.pbx(netPbx(2)));
    expect(sibling.data?._entities).toEqual([{ id: net, bundle: { tier: { code: 'CDS-500' } } }]);
    const unknown = await postGraphQL<{ _entities: unknown[] }>(stack.subgraphs.licensing.url, query, {
      r: [{ __typename: 'WmsNetwork', id: 'no-such-net' }],
    });
    expect(unknown.data?._entities).toEqual([null]);
  });

  describe('setLegacyStorageLicenses', () => {
    const set = (pbxId: string, count: number, token = tokens.admin()) =>
      stack.gql<{ setLegacyStorageLicenses: { pbxId: string; count: number } }>(provisioning.setLegacyLicenses(), { pbxId, count }, token);

    test('an admin sets and changes the licences of a PBX', async () => {
      expect((await set(standalone.toUpperCase(), 3)).data?.setLegacyStorageLicenses).toEqual({ pbxId: standalone, count: 3 });
      expect((await set(standalone, 7)).data?.setLegacyStorageLicenses).toEqual({ pbxId: standalone, count: 7 });
      expect(await licensingDb().getRepository(LegacyLicense).findBy({ pbxId: standalone })).toEqual([
        expect.objectContaining({ count: 7 }),
      ]);
    });

    test('refuses counts outside 0..10000, unknown PBXs and every role but admin, changing nothing', async () => {
      expect((await set(standalone, 10_001)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await set(standalone, -1)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await set('ffffffffffff', 1)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await set(standalone, 1, tokens.partner(['lic-co']))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await set(standalone, 1, tokens.analyst())).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await set(standalone, 1, tokens.pbx(standalone))).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(await licensingDb().getRepository(LegacyLicense).findBy({ pbxId: standalone })).toEqual([
        expect.objectContaining({ count: 7 }),
      ]);
    });
  });

  describe('addStaticIpPool', () => {
    const add = (region: string, addresses: string[], token = tokens.admin()) =>
      stack.gql<{ addStaticIpPool: { region: string; size: number; available: number } }>(
        provisioning.addStaticIpPool(),
        { region, addresses },
        token,
      );
    const poolOf = (region: string) =>
      licensingDb()
        .getRepository(StaticIpAddress)
        .find({ where: { region }, order: { address: 'ASC' } });

    test('adds addresses, ignoring those already in the pool and repeats within the call', async () => {
      const first = await add(' EU-West-1 ', ['203.0.113.1', '203.0.113.2', '203.0.113.2', '203.0.113.010']);
      expect(first.data?.addStaticIpPool).toEqual({ region: 'eu-west-1', size: 3, available: 3 });
      const again = await add('eu-west-1', ['203.0.113.2', '203.0.113.3']);
      expect(again.data?.addStaticIpPool).toEqual({ region: 'eu-west-1', size: 4, available: 4 });
      expect((await poolOf('eu-west-1')).map((a) => a.address)).toEqual(['203.0.113.1', '203.0.113.10', '203.0.113.2', '203.0.113.3']);
      // The pool counts assigned addresses in its size, not in what is available.
      expect((await add('eu-central-1', [])).data?.addStaticIpPool).toEqual({ region: 'eu-central-1', size: 3, available: 2 });
    });

    test('one bad address, an address of another region or too many refuse the whole call', async () => {
      const bad = await add('eu-west-1', ['203.0.113.20', '203.0.113.256']);
      expect(bad.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      expect(bad.errors?.[0].message).toContain('203.0.113.256');
      const elsewhere = await add('eu-west-1', ['203.0.113.21', '198.51.100.1']);
      expect(elsewhere.errors?.[0].extensions?.code).toBe('CONFLICT');
      expect(elsewhere.errors?.[0].message).toContain('198.51.100.1 (eu-central-1)');
      const tooMany = await add(
        'eu-west-1',
        Array.from({ length: 4097 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      );
      expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await add('europe', ['203.0.113.22'])).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect((await poolOf('eu-west-1')).map((a) => a.address)).toEqual(['203.0.113.1', '203.0.113.10', '203.0.113.2', '203.0.113.3']);
    });

    test('a full /20 goes in in one call', async () => {
      const block = Array.from({ length: 4096 }, (_, i) => `100.64.${i >> 8}.${i & 255}`);
      expect((await add('ap-south-1', block)).data?.addStaticIpPool).toEqual({ region: 'ap-south-1', size: 4096, available: 4096 });
    });

    test('only admins add pools', async () => {
      for (const token of [tokens.partner(['lic-co']), tokens.analyst(), tokens.pbx(standalone)]) {
        expect((await add('eu-west-1', ['203.0.113.30'], token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
    });
  });

  test('NetworkDashboard costs licensing the same statements for 3 PBXs as for 15', async () => {
    const licensing = stack.subgraphs.licensing.runtime.counter;
    await networkOf(stack, 'wide-co', 'wide-net', 15, 'e1');
    await seedLicensing(licensingDb(), {
      holdings: [{ holderType: HolderType.NETWORK, holderId: 'wide-net', tierCode: 'CDS-5000' }],
      pools: [{ region: 'eu-central-1', addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] }],
      staticIps: [1, 2, 3].map((n) => ({ address: `192.0.2.${n}`, pbxId: serial(n, 'e1') })),
    });
    const statements = async (networkId: string) => {
      licensing.reset();
      await dashboard(networkId);
      return licensing.count; // the counter leaves out the outbox relay's own statements
    };
    await statements(net); // warm-up
    const small = await statements(net);
    const wide = await statements('wide-net');
    expect(wide).toBe(small);
    expect(small).toBeLessThanOrEqual(8);
    expect((await dashboard('wide-net')).staticIpUsage).toEqual({ allowance: 15, assigned: 3, available: 12 });
  });

  test('the holdings table keeps one bundle per holder', async () => {
    const rows = await licensingDb().getRepository(BundleHolding).findBy({ holderId: net });
    expect(rows).toEqual([expect.objectContaining({ holderType: HolderType.NETWORK, tierCode: 'CDS-500' })]);
    await expect(
      licensingDb().getRepository(BundleHolding).insert({
        holderType: HolderType.NETWORK,
        holderId: net,
        tierCode: 'CDS-50',
        source: BundleSource.ORDERED,
        effectiveFrom: new Date(),
        updatedAt: new Date(),
      }),
    ).rejects.toThrow();
    await expect(
      licensingDb()
        .getRepository(StaticIpAddress)
        .update({ address: '198.51.100.3' }, { pbxId: netPbx(1), assignedAt: new Date() }),
    ).rejects.toThrow();
  });
});
