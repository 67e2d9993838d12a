import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

/**
 * `customers`, the list the board's first page shows: scoped like every read
 * (a partner its own customers, a PBX its own), by name, paged with opaque
 * cursors, filtered by part of the name.
 */
const LIST = `query ($first: Int, $after: String, $nameContains: String) {
  customers(first: $first, after: $after, nameContains: $nameContains) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name } } } }`;

type List = {
  customers: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; name: string } }[];
  };
};

describe('customers', () => {
  let stack: TestStack;
  const names = ['Zeta Works', 'alpha logistics', 'Beta 100% Care', 'Gamma_Legal', 'Alpha Clinics'];

  beforeAll(async () => {
    stack = await startTestStack();
    for (const [i, name] of names.entries()) await createCustomer(stack, `cu-${i}`, name);
    await registerPbx(stack, { id: serial(1, 'cc'), customerId: 'cu-2' });
    await createNetwork(stack, 'cu-1', 'net-a', 'Alpha 50% North');
    await createNetwork(stack, 'cu-1', 'net-b', 'Alpha 500 South');
    await stack.settle();
  });

  afterAll(() => stack.stop());

  const ids = (list: List) => list.customers.edges.map((e) => e.node.id);

  it('lists every customer to an admin and an analyst, by name', async () => {
    const admin = await stack.ok<List>(LIST, { first: 50 });
    expect(admin.customers.totalCount).toBe(5);
    expect(admin.customers.edges.map((e) => e.node.name)).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(ids(await stack.ok<List>(LIST, { first: 50 }, tokens.analyst()))).toEqual(ids(admin));
  });

  it('lists a partner its own customers only, and a PBX its own', async () => {
    const partner = await stack.ok<List>(LIST, { first: 50 }, tokens.partner(['cu-1', 'cu-3', 'nobody']));
    expect(ids(partner).sort()).toEqual(['cu-1', 'cu-3']);
    expect(partner.customers.totalCount).toBe(2);
    expect((await stack.ok<List>(LIST, { first: 50 }, tokens.partner([]))).customers.totalCount).toBe(0);
    expect(ids(await stack.ok<List>(LIST, { first: 50 }, tokens.pbx(serial(1, 'cc'))))).toEqual(['cu-2']);
    expect((await stack.gql(LIST, {}, null)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('pages with cursors and filters by part of the name, case-insensitively and literally', async () => {
    const first = await stack.ok<List>(LIST, { first: 2 });
    expect(first.customers.pageInfo.hasNextPage).toBe(true);
    const second = await stack.ok<List>(LIST, { first: 2, after: first.customers.pageInfo.endCursor });
    const third = await stack.ok<List>(LIST, { first: 2, after: second.customers.pageInfo.endCursor });
    expect(third.customers.pageInfo.hasNextPage).toBe(false);
    expect([...ids(first), ...ids(second), ...ids(third)]).toEqual(ids(await stack.ok<List>(LIST, { first: 50 })));
    expect(ids(await stack.ok<List>(LIST, { first: 50, nameContains: 'ALPHA' })).sort()).toEqual(['cu-1', 'cu-4']);
    expect(ids(await stack.ok<List>(LIST, { first: 50, nameContains: '100%' }))).toEqual(['cu-2']);
    expect(ids(await stack.ok<List>(LIST, { first: 50, nameContains: 'a_l' }))).toEqual(['cu-3']);
    // networks' filter shares the same literal, portable LIKE (kernel/sql-like.ts)
    const networks = await stack.ok<{ networks: { edges: { node: { id: string } }[] } }>(
      `{ networks(first: 10, filter: { nameContains: "50%" }) { edges { node { id } } } }`,
    );
    expect(networks.networks.edges.map((e) => e.node.id)).toEqual(['net-a']);
    expect((await stack.gql(LIST, { first: 501 })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await stack.gql(LIST, { first: 2, after: 'bogus' })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
