import { provisioning } from './support/operations';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

const PBX_QUERY = `query ($id: ID!) { pbx(id: $id) { id name kind wmsVersion region network { id } customer { id } cds { state } } }`;
const COUNTS = `{ networks(first: 500) { totalCount } }`;

describe('provisioning through the gateway', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await createCustomer(stack, 'acme', 'Acme');
    await createCustomer(stack, 'globex', 'Globex');
    await createNetwork(stack, 'acme', 'acme-hq', 'Acme HQ');
    await createNetwork(stack, 'globex', 'globex-net', 'Globex');
  });
  afterAll(() => stack?.stop());

  const codeOf = (result: { errors?: { extensions?: { code?: string } }[] }) => result.errors?.[0]?.extensions?.code;

  it('creates a customer, a network and a PBX whose CDS starts NOT_ACTIVATED', async () => {
    const created = await stack.ok<{ createCustomer: { customer: { id: string; name: string } } }>(provisioning.createCustomer(), {
      input: { name: 'Generated Id Ltd' },
    });
    expect(created.createCustomer.customer.name).toBe('Generated Id Ltd');
    expect(created.createCustomer.customer.id).toMatch(/\S+/);

    const network = await stack.ok<{ createNetwork: { network: { id: string; name: string; customer: { id: string } } } }>(
      provisioning.createNetwork(),
      { input: { name: 'Branch', customerId: created.createCustomer.customer.id } },
    );
    expect(network.createNetwork.network.customer.id).toBe(created.createCustomer.customer.id);

    const registered = await stack.ok<{ registerPbx: { pbx: Record<string, unknown> } }>(provisioning.registerPbx(), {
      input: {
        id: '22110001D072',
        name: 'acme.wildixin.com',
        kind: 'VIRTUAL',
        wmsVersion: '6.05.20231120.1',
        region: 'eu-central-1',
        customerId: 'acme',
        networkId: 'acme-hq',
      },
    });
    expect(registered.registerPbx.pbx).toEqual({
      id: '22110001d072',
      name: 'acme.wildixin.com',
      kind: 'VIRTUAL',
      wmsVersion: '6.05.20231120.1',
      region: 'eu-central-1',
      network: { id: 'acme-hq' },
      cds: { state: 'NOT_ACTIVATED' },
    });
    const read = await stack.ok<{ pbx: Record<string, unknown> }>(PBX_QUERY, { id: '22110001d072' });
    expect(read.pbx).toMatchObject({ id: '22110001d072', customer: { id: 'acme' }, cds: { state: 'NOT_ACTIVATED' } });
  });

  it.each([
    ['a malformed serial', { id: 'not-a-serial' }, 'BAD_USER_INPUT'],
    ['a malformed version', { wmsVersion: '6.x' }, 'BAD_USER_INPUT'],
    ['a malformed region', { region: 'moon base' }, 'BAD_USER_INPUT'],
    ['a malformed name', { name: 'bad name!' }, 'BAD_USER_INPUT'],
    ['a wrong kind', { kind: 'MAINFRAME' }, 'BAD_USER_INPUT'],
    ['an unknown customer', { customerId: 'nobody' }, 'NOT_FOUND'],
    ['an unknown network', { networkId: 'nowhere' }, 'NOT_FOUND'],
    ["another customer's network", { networkId: 'globex-net' }, 'CONFLICT'],
  ])('refuses %s and changes nothing', async (_what, change, code) => {
    const id = serial(0xbad, 'ee');
    const result = await stack.gql(provisioning.registerPbx(), {
      input: {
        id,
        name: 'x.wildixin.com',
        kind: 'CLOUD',
        wmsVersion: '6.05',
        region: 'eu-west-1',
        customerId: 'acme',
        networkId: 'acme-hq',
        ...change,
      },
    });
    expect(codeOf(result)).toBe(code);
    expect(result.errors?.[0].message).not.toMatch(/select|insert|stack|at \w+ \(/i);
    const after = await stack.gql(PBX_QUERY, { id });
    expect(codeOf(after)).toBe('NOT_FOUND');
  });

  it('refuses a duplicate serial with CONFLICT and keeps the first PBX as it was', async () => {
    const id = serial(1, 'dd');
    await registerPbx(stack, { id, customerId: 'acme', networkId: 'acme-hq', name: 'first.wildixin.com' });
    const again = await stack.gql(provisioning.registerPbx(), {
      input: { id, name: 'second.wildixin.com', kind: 'HARDWARE', wmsVersion: '6.05', region: 'us-east-1', customerId: 'globex' },
    });
    expect(codeOf(again)).toBe('CONFLICT');
    const read = await stack.ok<{ pbx: { name: string; customer: { id: string } } }>(PBX_QUERY, { id });
    expect(read.pbx).toMatchObject({ name: 'first.wildixin.com', customer: { id: 'acme' } });
  });

  it('refuses duplicate customer and network ids with CONFLICT', async () => {
    expect(codeOf(await stack.gql(provisioning.createCustomer(), { input: { id: 'acme', name: 'Again' } }))).toBe('CONFLICT');
    expect(codeOf(await stack.gql(provisioning.createNetwork(), { input: { id: 'acme-hq', name: 'Again', customerId: 'acme' } }))).toBe(
      'CONFLICT',
    );
    const customer = await stack.ok<{ customer: { name: string } }>(`{ customer(id: "acme") { name } }`);
    expect(customer.customer.name).toBe('Acme');
  });

  describe('identity', () => {
    it('answers 401 UNAUTHENTICATED without a token, with a bad one and with an expired one', async () => {
      const none = await stack.gql(COUNTS, {}, null);
      expect(none.status).toBe(401);
      expect(codeOf(none)).toBe('UNAUTHENTICATED');
      expect(codeOf(await stack.gql(COUNTS, {}, 'not.a.jwt'))).toBe('UNAUTHENTICATED');
      const { signToken } = await import('../kernel/identity');
      const expired = signToken('test-secret-for-cds-graph', { sub: 'old', role: 'admin' }, -10);
      const result = await stack.gql(COUNTS, {}, expired);
      expect(codeOf(result)).toBe('UNAUTHENTICATED');
      expect(result.errors?.[0].message).toMatch(/expired/);
      const forged = (await import('jsonwebtoken')).default.sign({ sub: 'x', role: 'admin' }, 'another-secret');
      expect(codeOf(await stack.gql(COUNTS, {}, forged))).toBe('UNAUTHENTICATED');
    });

    it('lets partners act only for their customers', async () => {
      const partner = tokens.partner(['acme']);
      expect(codeOf(await stack.gql(provisioning.createCustomer(), { input: { name: 'Mine' } }, partner))).toBe('FORBIDDEN');
      await stack.ok(provisioning.createNetwork(), { input: { id: 'acme-partner-net', name: 'By partner', customerId: 'acme' } }, partner);
      expect(codeOf(await stack.gql(provisioning.createNetwork(), { input: { name: 'Not mine', customerId: 'globex' } }, partner))).toBe(
        'FORBIDDEN',
      );
      expect(codeOf(await stack.gql(`{ network(id: "globex-net") { id } }`, {}, partner))).toBe('FORBIDDEN');
      const list = await stack.ok<{ networks: { edges: { node: { customer: { id: string } } }[] } }>(
        `{ networks(first: 100) { edges { node { customer { id } } } } }`,
        {},
        partner,
      );
      expect(list.networks.edges.length).toBeGreaterThan(0);
      expect(list.networks.edges.every((e) => e.node.customer.id === 'acme')).toBe(true);
    });

    it('never lets analysts mutate', async () => {
      const result = await stack.gql(provisioning.createNetwork(), { input: { name: 'No', customerId: 'acme' } }, tokens.analyst());
      expect(codeOf(result)).toBe('FORBIDDEN');
    });

    it('lets a PBX read itself but not its siblings', async () => {
      const own = serial(7, 'cc');
      const sibling = serial(8, 'cc');
      await registerPbx(stack, { id: own, customerId: 'acme', networkId: 'acme-hq' });
      await registerPbx(stack, { id: sibling, customerId: 'acme', networkId: 'acme-hq' });
      await stack.settle();
      const self = await stack.ok<{ pbx: { id: string; cds: { state: string } } }>(PBX_QUERY, { id: own }, tokens.pbx(own));
      expect(self.pbx).toMatchObject({ id: own, cds: { state: 'NOT_ACTIVATED' } });
      expect(codeOf(await stack.gql(PBX_QUERY, { id: sibling }, tokens.pbx(own)))).toBe('FORBIDDEN');
      const network = await stack.ok<{ network: { pbxs: { id: string }[] } }>(
        `{ network(id: "acme-hq") { pbxs { id } } }`,
        {},
        tokens.pbx(own),
      );
      expect(network.network.pbxs.map((p) => p.id)).toEqual([own]);
    });
  });
});
