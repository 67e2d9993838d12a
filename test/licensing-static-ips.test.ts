import { PbxKind } from '../kernel/domain/enums';
import { DirectoryPbx } from '../kernel/directory';
import { StaticIpAddress } from '../subgraphs/licensing/entities/static-ip-address';
import { createCustomer, createNetwork, networkOf, registerPbx, serial } from './support/fixtures';
import { contractDocument, contractOperation, provisioning } from './support/operations';
import { GraphQLResult, startTestStack, TestStack, tokens } from './support/harness';

interface Usage {
  allowance: number;
  assigned: number;
  available: number;
}
interface Assigned {
  assignStaticIp: { staticIp: { address: string; assignedAt: string }; usage: Usage };
}
interface Released {
  releaseStaticIp: { released: boolean; usage: Usage };
}

/**
 * Static IPs (DOMAIN.md rule 8) through the gateway: cloud PBXs only, one per
 * PBX, never beyond the holder's allowance or on two PBXs, from the pool of
 * the PBX's region — under concurrent requests too.
 */
describe('static IPs', () => {
  let stack: TestStack;
  const net = 'ip-net';
  const cloud = serial(1, 'f1'); // networkOf: 1 CLOUD, 2 VIRTUAL, 3 HARDWARE
  const virtual = serial(2, 'f1');
  const hardware = serial(3, 'f1');
  const standalone = serial(1, 'f2');
  const otherCustomers = serial(1, 'f3');

  const assign = (pbxId: string, token = tokens.admin()) =>
    stack.gql<Assigned>(contractOperation('Licensing.graphql', 'AssignStaticIp'), { pbxId }, token);
  const release = (pbxId: string, token = tokens.admin()) =>
    stack.gql<Released>(contractOperation('Licensing.graphql', 'ReleaseStaticIp'), { pbxId }, token);
  const order = (vars: { networkId?: string; pbxId?: string; code: string }) =>
    stack.ok(contractOperation('Licensing.graphql', 'OrderBundle'), vars);
  const addPool = (region: string, addresses: string[]) => stack.ok(provisioning.addStaticIpPool(), { region, addresses });
  const addresses = () => stack.subgraphs.licensing.runtime.db.getRepository(StaticIpAddress).find({ order: { address: 'ASC' } });
  const assignedTo = async (pbxIds: string[]) => (await addresses()).filter((a) => a.pbxId && pbxIds.includes(a.pbxId));
  const codeOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.extensions?.code;
  const messageOf = (result: GraphQLResult<unknown>) => result.errors?.[0]?.message ?? '';
  const dashboardUsage = async (networkId: string) =>
    (await stack.ok<{ network: { staticIpUsage: Usage } }>(contractDocument('NetworkDashboard.graphql'), { networkId })).network
      .staticIpUsage;

  beforeAll(async () => {
    stack = await startTestStack();
    await networkOf(stack, 'ip-co', net, 3, 'f1');
    await registerPbx(stack, { id: standalone, customerId: 'ip-co' });
    await createCustomer(stack, 'ip-other');
    await registerPbx(stack, { id: otherCustomers, customerId: 'ip-other' });
    await order({ networkId: net, code: 'CDS-50' });
    await addPool(
      'eu-central-1',
      Array.from({ length: 20 }, (_, i) => `198.18.0.${i + 1}`),
    );
    await stack.settle();
  }, 120_000);
  afterAll(() => stack?.stop());

  test("assigns a cloud PBX an address of its region's pool, within its network's allowance", async () => {
    const result = await assign(cloud);
    expect(result.errors).toBeUndefined();
    const { staticIp, usage } = result.data!.assignStaticIp;
    expect(staticIp.address).toMatch(/^198\.18\.0\.\d+$/);
    expect(Date.parse(staticIp.assignedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(usage).toEqual({ allowance: 5, assigned: 1, available: 4 });
    expect(await dashboardUsage(net)).toEqual({ allowance: 5, assigned: 1, available: 4 });
    const { pbx } = await stack.ok<{ pbx: { staticIp: unknown } }>(contractDocument('PbxDetails.graphql'), { pbxId: cloud });
    expect(pbx.staticIp).toEqual(staticIp);
  });

  test('assigning again returns the address the PBX holds, unchanged', async () => {
    const [held] = await assignedTo([cloud]);
    const again = await assign(cloud.toUpperCase());
    expect(again.data?.assignStaticIp).toEqual({
      staticIp: { address: held.address, assignedAt: held.assignedAt!.toISOString() },
      usage: { allowance: 5, assigned: 1, available: 4 },
    });
    expect(await assignedTo([cloud])).toHaveLength(1);
  });

  test('virtual and hardware PBXs are refused: static IPs do not apply to them', async () => {
    for (const pbxId of [virtual, hardware]) {
      const refused = await assign(pbxId);
      expect(codeOf(refused)).toBe('CONFLICT');
      expect(messageOf(refused)).toMatch(/static IPs are for cloud PBXs only and do not apply to virtual or hardware PBXs/);
      expect(codeOf(await release(pbxId))).toBe('CONFLICT');
    }
    expect(await assignedTo([virtual, hardware])).toEqual([]);
  });

  test('a standalone PBX on DEFAULT has no allowance; with CDS-10 it has one', async () => {
    const refused = await assign(standalone);
    expect(codeOf(refused)).toBe('CONFLICT');
    expect(messageOf(refused)).toBe(
      `No static IP assigned to PBX '${standalone}': the static-IP allowance is used up (standalone PBX '${standalone}' holds DEFAULT, which allows 0 PBXs with a static IP; 0 have one). Release one, or order a larger bundle.`,
    );
    expect(await assignedTo([standalone])).toEqual([]);
    await order({ pbxId: standalone, code: 'CDS-10' });
    const granted = await assign(standalone);
    expect(granted.data?.assignStaticIp.usage).toEqual({ allowance: 1, assigned: 1, available: 0 });
    const { pbx } = await stack.ok<{ pbx: { staticIpUsage: Usage } }>(
      `query ($id: ID!) { pbx(id: $id) { staticIpUsage { allowance assigned available } } }`,
      { id: standalone },
    );
    expect(pbx.staticIpUsage).toEqual({ allowance: 1, assigned: 1, available: 0 });
  });

  test('release returns the address to the pool; releasing again releases nothing', async () => {
    const [held] = await assignedTo([standalone]);
    const first = await release(standalone);
    expect(first.data?.releaseStaticIp).toEqual({ released: true, usage: { allowance: 1, assigned: 0, available: 1 } });
    expect((await addresses()).find((a) => a.address === held.address)).toMatchObject({ pbxId: null, assignedAt: null });
    expect((await release(standalone)).data?.releaseStaticIp).toEqual({
      released: false,
      usage: { allowance: 1, assigned: 0, available: 1 },
    });
  });

  test("admins and the customer's partner assign; other partners, analysts and PBXs are refused", async () => {
    expect((await assign(standalone, tokens.partner(['ip-co']))).errors).toBeUndefined();
    expect((await release(standalone, tokens.partner(['ip-co']))).data?.releaseStaticIp.released).toBe(true);
    for (const token of [tokens.partner(['ip-other']), tokens.analyst(), tokens.pbx(standalone)]) {
      expect(codeOf(await assign(standalone, token))).toBe('FORBIDDEN');
      expect(codeOf(await release(cloud, token))).toBe('FORBIDDEN');
    }
    expect(codeOf(await assign('ffffffffffff'))).toBe('NOT_FOUND');
    expect(await assignedTo([standalone])).toEqual([]);
    expect(await assignedTo([cloud])).toHaveLength(1);
  });

  test('an empty pool is refused with a CONFLICT that says so; a region without a pool too', async () => {
    await createCustomer(stack, 'pool-co');
    const [first, second, elsewhere] = [serial(1, 'f4'), serial(2, 'f4'), serial(3, 'f4')];
    await registerPbx(stack, { id: first, customerId: 'pool-co', region: 'sa-east-1' });
    await registerPbx(stack, { id: second, customerId: 'pool-co', region: 'sa-east-1' });
    await registerPbx(stack, { id: elsewhere, customerId: 'pool-co', region: 'me-south-1' });
    for (const pbxId of [first, second, elsewhere]) await order({ pbxId, code: 'CDS-10' });
    await addPool('sa-east-1', ['192.0.2.200']);

    expect((await assign(first)).data?.assignStaticIp.staticIp.address).toBe('192.0.2.200');
    const empty = await assign(second);
    expect(codeOf(empty)).toBe('CONFLICT');
    expect(messageOf(empty)).toMatch(/the static-IP pool of region sa-east-1 is empty/);
    const none = await assign(elsewhere);
    expect(codeOf(none)).toBe('CONFLICT');
    expect(messageOf(none)).toMatch(/the static-IP pool of region me-south-1 is empty/);
    expect(await assignedTo([second, elsewhere])).toEqual([]);
    // Released, the address serves the next PBX of the region.
    await release(first);
    expect((await assign(second)).data?.assignStaticIp.staticIp.address).toBe('192.0.2.200');
  });

  test('50 concurrent assignments on a network whose allowance is 5: exactly 5 get an address, 45 are refused', async () => {
    // CDS-50 ordered while the network had 5 PBXs; 45 more join: it keeps working, needs an upgrade, allowance stays 5.
    await createCustomer(stack, 'conc-co');
    await createNetwork(stack, 'conc-co', 'conc-net');
    const pbxs = Array.from({ length: 50 }, (_, i) => serial(i + 1, 'f5'));
    for (const pbxId of pbxs.slice(0, 5))
      await registerPbx(stack, { id: pbxId, customerId: 'conc-co', networkId: 'conc-net', region: 'eu-west-2', kind: PbxKind.CLOUD });
    await stack.settle();
    await order({ networkId: 'conc-net', code: 'CDS-50' });
    for (const pbxId of pbxs.slice(5))
      await registerPbx(stack, { id: pbxId, customerId: 'conc-co', networkId: 'conc-net', region: 'eu-west-2', kind: PbxKind.CLOUD });
    await addPool(
      'eu-west-2',
      Array.from({ length: 60 }, (_, i) => `198.19.1.${i + 1}`),
    );
    await stack.settle();
    expect(await stack.subgraphs.licensing.runtime.db.getRepository(DirectoryPbx).countBy({ networkId: 'conc-net' })).toBe(50);
    const { network } = await stack.ok<{ network: { bundle: { needsUpgrade: boolean }; staticIpUsage: Usage } }>(
      contractDocument('NetworkDashboard.graphql'),
      { networkId: 'conc-net' },
    );
    expect(network.bundle.needsUpgrade).toBe(true);
    expect(network.staticIpUsage).toEqual({ allowance: 5, assigned: 0, available: 5 });

    const results = await Promise.all(pbxs.map((pbxId) => assign(pbxId)));
    const granted = results.filter((r) => r.data?.assignStaticIp);
    const refused = results.filter((r) => r.errors);
    expect(granted).toHaveLength(5);
    expect(refused).toHaveLength(45);
    for (const r of refused) {
      expect(codeOf(r)).toBe('CONFLICT');
      expect(messageOf(r)).toMatch(
        /the static-IP allowance is used up \(network 'conc-net' holds CDS-50, which allows 5 PBXs with a static IP; 5 have one\)/,
      );
    }
    const held = await assignedTo(pbxs);
    expect(held).toHaveLength(5);
    expect(new Set(held.map((a) => a.address)).size).toBe(5);
    expect(new Set(granted.map((r) => r.data!.assignStaticIp.staticIp.address))).toEqual(new Set(held.map((a) => a.address)));
    expect(await dashboardUsage('conc-net')).toEqual({ allowance: 5, assigned: 5, available: 0 });
  });

  test('concurrent assignments to one PBX give it one address', async () => {
    await order({ networkId: net, code: 'CDS-500' });
    await release(cloud);
    const results = await Promise.all(Array.from({ length: 10 }, () => assign(cloud)));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(new Set(results.map((r) => r.data!.assignStaticIp.staticIp.address)).size).toBe(1);
    expect(await assignedTo([cloud])).toHaveLength(1);
  });

  test('holders racing for a small pool never share an address', async () => {
    await createCustomer(stack, 'race-co');
    const pbxs = Array.from({ length: 8 }, (_, i) => serial(i + 1, 'f6'));
    for (const pbxId of pbxs) await registerPbx(stack, { id: pbxId, customerId: 'race-co', region: 'af-south-1' });
    for (const pbxId of pbxs) await order({ pbxId, code: 'CDS-10' });
    await addPool('af-south-1', ['203.0.113.201', '203.0.113.202', '203.0.113.203']);

    const results = await Promise.all(pbxs.map((pbxId) => assign(pbxId)));
    const granted = results.filter((r) => r.data?.assignStaticIp).map((r) => r.data!.assignStaticIp.staticIp.address);
    expect(granted.sort()).toEqual(['203.0.113.201', '203.0.113.202', '203.0.113.203']);
    const refused = results.filter((r) => r.errors);
    expect(refused).toHaveLength(5);
    for (const r of refused) expect(messageOf(r)).toMatch(/pool of region af-south-1 is empty/);
    expect(await assignedTo(pbxs)).toHaveLength(3);
  });
});
