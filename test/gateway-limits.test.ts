import { getIntrospectionQuery } from 'graphql';
import { startTestStack, TestStack, tokens } from './support/harness';

/** Operations beyond the limits are refused with QUERY_TOO_COMPLEX; malformed ones with BAD_USER_INPUT; IDE introspection works. */
describe('gateway limits and error shapes', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it('answers introspection (what the IDE sends)', async () => {
    const result = await stack.gql(getIntrospectionQuery(), {}, tokens.analyst());
    expect(result.errors).toBeUndefined();
  });

  it('refuses too deep, too aliased and too costly operations', async () => {
    const deep = `{ network(id: "x") { customer { networks { customer { networks { customer { networks { customer { networks { customer { networks { customer { networks { id } } } } } } } } } } } } } }`;
    const aliased = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: bundleTiers { code }`).join(' ')} }`;
    const costly = `{ networks(first: 500) { edges { node { pbxs { network { pbxs { network { pbxs { id } } } } } } } } }`;
    for (const query of [deep, aliased, costly]) {
      const result = await stack.gql(query);
      expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    }
  });

  it('maps parse and validation failures to BAD_USER_INPUT without internals', async () => {
    const parse = await stack.gql('{ network(id: ');
    expect(parse.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await stack.gql('{ noSuchField }');
    expect(unknown.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(unknown)).not.toMatch(/stacktrace|serviceName/);
  });

  it('refuses a malformed custom scalar in variables with BAD_USER_INPUT', async () => {
    const result = await stack.gql('query ($asOf: DateTime!) { bundleTiers { code } storageAlert(id: "NETWORK:x") { raisedAt } } ', {
      asOf: 'not-a-date',
    });
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const mutation = await stack.gql('mutation ($asOf: DateTime!) { runLegacyLicenseTransition(asOf: $asOf, dryRun: true) { changed } }', {
      asOf: 'yesterday',
    });
    expect(mutation.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('serves the offline IDE and health', async () => {
    const base = stack.gatewayUrl.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });
});
