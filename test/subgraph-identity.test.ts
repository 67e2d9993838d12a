import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { postGraphQL, startTestStack, TestStack, tokens } from './support/harness';

/**
 * Reaching a subgraph directly grants nothing more: each verifies the token
 * itself and scopes `_entities` by its own directory, not by what a
 * representation claims.
 */
describe('subgraphs reached directly', () => {
  let stack: TestStack;
  const globexPbx = serial(1, 'ab');
  const ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pbx { id cds { state } } } }`;
  const LICENSING_ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pbx { id bundle { tier { code } } } } }`;

  beforeAll(async () => {
    stack = await startTestStack();
    await createCustomer(stack, 'acme');
    await createCustomer(stack, 'globex');
    await createNetwork(stack, 'globex', 'globex-net');
    await registerPbx(stack, { id: globexPbx, customerId: 'globex', networkId: 'globex-net' });
    await stack.settle();
  });
  afterAll(() => stack?.stop());

  it('refuses requests without a valid token', async () => {
    for (const name of ['network', 'storage', 'recordings', 'licensing'] as const) {
      const result = await postGraphQL(stack.subgraphs[name].url, '{ __typename }', {}, null);
      expect(result.status).toBe(401);
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it("refuses a partner's _entities lookup of another customer's PBX, in every subgraph", async () => {
    const partner = tokens.partner(['acme']);
    const r = [{ __typename: 'Pbx', id: globexPbx, customer: { id: 'acme' } }];
    const storage = await postGraphQL(stack.subgraphs.storage.url, ENTITIES, { r }, partner);
    expect(storage.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const licensing = await postGraphQL(stack.subgraphs.licensing.url, LICENSING_ENTITIES, { r }, partner);
    expect(licensing.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const network = await postGraphQL(
      stack.subgraphs.network.url,
      `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Pbx { id name } } }`,
      { r },
      partner,
    );
    expect(network.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    // The same lookups with the owner's partner token succeed: the refusal is about scope, not shape.
    const owner = await postGraphQL<{ _entities: { id: string; cds: { state: string } }[] }>(
      stack.subgraphs.storage.url,
      ENTITIES,
      { r },
      tokens.partner(['globex']),
    );
    expect(owner.errors).toBeUndefined();
    expect(owner.data?._entities[0]).toEqual({ id: globexPbx, cds: { state: 'NOT_ACTIVATED' } });
  });
});
