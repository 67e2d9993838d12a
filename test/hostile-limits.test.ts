import { postGraphQL, startTestStack, TestStack, tokens } from './support/harness';

/** 2^n work in n fragments: each spreads the next one twice. */
function doublingQuery(fragments: number): string {
  const defs = Array.from({ length: fragments }, (_, i) =>
    i === fragments - 1 ? `fragment F${i} on Query { bundleTiers { code name } }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
  );
  return `query Doubling { ...F0 }\n${defs.join('\n')}`;
}

/**
 * Limits before work, in time linear in the document (issue 10): the
 * doubling-fragment queries that held the gateway's only thread for seconds
 * are refused as QUERY_TOO_COMPLEX while /health keeps answering, and each
 * subgraph refuses what the gateway would, when reached directly.
 */
describe('hostile documents', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it.each([22, 24, 40])('refuses %i fragments each spreading the next twice, and /health answers meanwhile', async (n) => {
    const base = stack.gatewayUrl.replace(/\/graphql$/, '');
    const [result, health] = await Promise.all([stack.gql(doublingQuery(n)), fetch(`${base}/health`).then((r) => r.status)]);
    expect(health).toBe(200);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.errors?.[0].message).toMatch(/estimated cost/);
  });

  it('refuses the same doubling document sent straight to a subgraph', async () => {
    const result = await postGraphQL(stack.subgraphs.licensing.url, doublingQuery(24), {}, tokens.admin());
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses 1,000 aliases sent straight to the licensing subgraph with a PBX token', async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: bundleTiers { code }`).join(' ')} }`;
    const result = await postGraphQL(stack.subgraphs.licensing.url, query, {}, tokens.pbx('22110001d076'));
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.errors?.[0].message).toMatch(/[Aa]liases/);
    expect(result.data ?? null).toBeNull();
  });

  it('refuses too deep and too many directives, at the gateway and at a subgraph', async () => {
    const deep = `{ network(id: "x") { customer { networks { customer { networks { customer { networks { customer { networks { customer { networks { customer { networks { customer { id } } } } } } } } } } } } } } }`;
    const directives = `{ bundleTiers { code ${Array.from({ length: 60 }, () => '@include(if: true)').join(' ')} } }`;
    for (const url of [stack.gatewayUrl, stack.subgraphs.network.url]) {
      const result = await postGraphQL(url, deep);
      expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    }
    expect((await stack.gql(directives)).errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect((await postGraphQL(stack.subgraphs.licensing.url, directives)).errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a document over the token cap before building it, and one over the size cap before parsing', async () => {
    const tokensHeavy = `{ bundleTiers { ${Array.from({ length: 3000 }, () => 'code').join(' ')} } }`;
    const tooMany = await stack.gql(tokensHeavy);
    expect(tooMany.status).toBe(400);
    expect(tooMany.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(tooMany.errors?.[0].message).toMatch(/tokens/);
    const big = await stack.gql(`{ bundleTiers { code } } # ${'x'.repeat(990_000)}`);
    expect(big.status).toBe(400);
    expect(big.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(big.errors?.[0].message).toMatch(/bytes/);
  });
});
