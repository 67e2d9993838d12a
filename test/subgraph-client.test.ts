import http from 'node:http';
import { AddressInfo } from 'node:net';
import { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { operationTypeOf, SubgraphClient, SubgraphPools, useInflightDedup } from '../gateway/subgraph-client';

/**
 * The gateway's subgraph client against a real HTTP server: what reaches the
 * subgraph (the caller's own Authorization, one request per distinct fetch),
 * in-flight deduplication (same identity and query only, never mutations,
 * nothing kept once answered), and how refusals come back.
 */
describe('subgraph client', () => {
  let server: http.Server;
  let url: string;
  const received: { authorization?: string; body: string }[] = [];
  let status = 200;
  let reply: (body: { query: string; variables?: Record<string, unknown> }, authorization?: string) => unknown = (body, authorization) => ({
    data: { echo: { authorization: authorization ?? null, variables: body.variables ?? null } },
  });
  const pools = new SubgraphPools();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => {
        text += chunk;
      });
      req.on('end', () => {
        received.push({ authorization: req.headers.authorization, body: text });
        // Answers after a while, so that fetches sent together overlap.
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(reply(JSON.parse(text), req.headers.authorization)));
        }, 50);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(async () => {
    await pools.close();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
    status = 200;
  });

  const client = (dedup = true) => new SubgraphClient({ name: 'network', url, pools, plugins: dedup ? [useInflightDedup()] : [] });
  const fetchOf = (query: string, authorization: string | undefined, variables: Record<string, unknown> = { id: 'n1' }) =>
    ({
      kind: 'incoming operation',
      request: { query, variables },
      context: { identity: authorization ? { authorization } : undefined },
      incomingRequestContext: {},
    }) as unknown as GraphQLDataSourceProcessOptions<Record<string, unknown>>;
  const QUERY = 'query Dashboard__network__0($id: ID!) { network(id: $id) { id } }';

  it("forwards the caller's own Authorization and returns the subgraph's answer", async () => {
    const result = await client().process(fetchOf(QUERY, 'Bearer alice'));
    expect(result.data).toEqual({ echo: { authorization: 'Bearer alice', variables: { id: 'n1' } } });
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0].body)).toMatchObject({ query: QUERY, variables: { id: 'n1' } });
  });

  it('sends identical queries of one identity in flight together once, each caller getting its own copy', async () => {
    const c = client();
    const answers = await Promise.all([1, 2, 3].map(() => c.process(fetchOf(QUERY, 'Bearer alice'))));
    expect(received).toHaveLength(1);
    expect(answers[0]).toEqual(answers[1]);
    // No two callers share objects: the gateway merges into what it receives.
    expect(answers[0].data).not.toBe(answers[1].data);
  });

  it('never shares a reply across identities, variables or once answered', async () => {
    const c = client();
    const [alice, bob, other] = await Promise.all([
      c.process(fetchOf(QUERY, 'Bearer alice')),
      c.process(fetchOf(QUERY, 'Bearer bob')),
      c.process(fetchOf(QUERY, 'Bearer alice', { id: 'n2' })),
    ]);
    expect(received).toHaveLength(3);
    expect(alice.data).toEqual({ echo: { authorization: 'Bearer alice', variables: { id: 'n1' } } });
    expect(bob.data).toEqual({ echo: { authorization: 'Bearer bob', variables: { id: 'n1' } } });
    expect(other.data).toEqual({ echo: { authorization: 'Bearer alice', variables: { id: 'n2' } } });
    await c.process(fetchOf(QUERY, 'Bearer alice'));
    expect(received).toHaveLength(4);
  });

  it('never deduplicates mutations, nor anything when turned off', async () => {
    const mutation = 'mutation Op__network__0($id: ID!) { touch(id: $id) { id } }';
    await Promise.all([client().process(fetchOf(mutation, 'Bearer alice')), client().process(fetchOf(mutation, 'Bearer alice'))]);
    const c = client();
    await Promise.all([c.process(fetchOf(mutation, 'Bearer alice')), c.process(fetchOf(mutation, 'Bearer alice'))]);
    expect(received).toHaveLength(4);
    const off = client(false);
    await Promise.all([off.process(fetchOf(QUERY, 'Bearer alice')), off.process(fetchOf(QUERY, 'Bearer alice'))]);
    expect(received).toHaveLength(6);
  });

  it('tells queries from everything else by the first keyword', () => {
    expect(operationTypeOf('query X { a }')).toBe('query');
    expect(operationTypeOf('  { a }')).toBe('query');
    expect(operationTypeOf('mutation { a }')).toBe('mutation');
    expect(operationTypeOf('subscription { a }')).toBe('subscription');
    expect(operationTypeOf('fragment F on T { a } query { ...F }')).toBe('mutation');
  });

  it("passes a subgraph's refusal on with its code and message", async () => {
    status = 400;
    reply = () => ({ errors: [{ message: 'Variable "$asOf" got invalid value', extensions: { code: 'BAD_USER_INPUT' } }] });
    await expect(client().process(fetchOf(QUERY, 'Bearer alice'))).rejects.toMatchObject({
      message: 'Variable "$asOf" got invalid value',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    status = 401;
    reply = () => ({ message: 'no' });
    await expect(client().process(fetchOf(QUERY, 'Bearer alice'))).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
  });
});
