import { startTestStack } from './support/harness';
it('x', async () => {
  const stack = await startTestStack();
  const big = 'a'.repeat(900_000);
  for (const [q, v] of [
    ['query ($id: ID!) { pbx(id: $id) { id } }', { id: big }],
    ['query ($id: ID!) { network(id: $id) { id } }', { id: big }],
    ['mutation ($n: String!) { createCustomer(input: { id: "c1", name: $n }) { customer { id } } }', { n: big }],
    ['query A { bundleTiers { code } } query B { bundleTiers { code } }', {}],
  ] as const) {
    const r = await stack.gql(q, v as Record<string, unknown>);
    console.log(JSON.stringify(r).slice(0, 300));
  }
  await stack.stop();
});
