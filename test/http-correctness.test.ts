import net from 'node:net';
import { serverAudits } from 'graphql-http';
import { startTestStack, TestStack, tokens } from './support/harness';

/** Sends raw bytes on one keep-alive connection and collects what comes back until the server closes it (or `ms` pass). */
function rawExchange(port: number, head: string, body: Buffer, ms = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, ms);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => undefined);
    socket.write(head);
    socket.write(body);
  });
}

/**
 * GraphQL over HTTP as the spec and the contract say (issue 10): request-shape
 * errors are 400 BAD_USER_INPUT (never 500), bodies over the limit 413 with the
 * connection closed cleanly, GET for queries (not mutations), CORS by
 * configuration, and graphql-http's audits all passing.
 */
describe('GraphQL over HTTP', () => {
  let stack: TestStack;
  const origin = 'https://board.example';
  beforeAll(async () => {
    stack = await startTestStack({ env: { CORS_ORIGINS: origin } });
  });
  afterAll(() => stack?.stop());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin()}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers request-shape errors with 400 BAD_USER_INPUT', async () => {
    const cases: [unknown, RegExp][] = [
      [{ query: 'query A { bundleTiers { code } } query B { bundleTiers { code } }' }, /several operations/],
      [{ query: 'query A { bundleTiers { code } }', operationName: 'Nope' }, /No operation named 'Nope'/],
      [{ query: 'query ($id: ID!) { pbx(id: $id) { id } }', variables: { id: 'a'.repeat(900_000) } }, /\$id is 900000 bytes/],
      [{ query: '{ bundleTiers { code } }', variables: '[1' }, /./],
      [{ querry: '{ bundleTiers { code } }' }, /./],
      ['{"query": ', /not valid JSON/],
    ];
    for (const [body, message] of cases) {
      const response = await post(body);
      const json = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect([response.status, json.errors[0].extensions.code]).toEqual([400, 'BAD_USER_INPUT']);
      expect(json.errors[0].message).toMatch(message);
    }
  });

  it('answers a 990 kB document with 400 QUERY_TOO_COMPLEX', async () => {
    const response = await post({ query: `{ bundleTiers { code } } # ${'x'.repeat(990_000)}` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('answers 413 to a body over the limit and closes the connection cleanly; the next request is served', async () => {
    const body = Buffer.alloc(1_200_000, 'a');
    const head = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${tokens.admin()}\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`;
    const declared = await rawExchange(stack.gateway.http.port, head, body);
    expect(declared.text).toMatch(/^HTTP\/1\.1 413/);
    expect(declared.text).toMatch(/connection: close/i);
    expect(declared.closed).toBe(true);
    // Chunked, so the size is only known while reading.
    const chunkedHead = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n`;
    const chunked = await rawExchange(
      stack.gateway.http.port,
      chunkedHead,
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
    );
    expect(chunked.text).toMatch(/^HTTP\/1\.1 413/);
    expect(chunked.closed).toBe(true);
    expect((await post({ query: '{ bundleTiers { code } }' })).status).toBe(200);
  });

  it('serves queries over a plain GET and refuses mutations over GET', async () => {
    const auth = { authorization: `Bearer ${tokens.admin()}` };
    const query = await fetch(`${stack.gatewayUrl}?query=${encodeURIComponent('{ bundleTiers { code } }')}`, { headers: auth });
    expect(query.status).toBe(200);
    expect(((await query.json()) as { data: { bundleTiers: unknown[] } }).data.bundleTiers.length).toBeGreaterThan(0);
    const mutation = await fetch(
      `${stack.gatewayUrl}?query=${encodeURIComponent('mutation { createCustomer(input: { id: "get", name: "Get" }) { customer { id } } }')}`,
      { headers: auth },
    );
    expect(mutation.status).toBe(405);
    expect((await stack.gql('{ customer(id: "get") { id } }')).data).toEqual({ customer: null });
  });

  it('lets configured origins call it from a browser, and no others', async () => {
    const preflight = await fetch(stack.gatewayUrl, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const allowed = await post({ query: '{ bundleTiers { code } }' }, { origin });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
    const other = await post({ query: '{ bundleTiers { code } }' }, { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const otherPreflight = await fetch(stack.gatewayUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  // graphql-http 1.23.1 audits 13 MUST and 48 SHOULD/MAY points (the 47 of the issue, plus one added since).
  it("passes every one of graphql-http's GraphQL-over-HTTP audits: MUST 13/13, SHOULD and MAY 48/48", async () => {
    const token = tokens.admin();
    const audits = serverAudits({
      url: stack.gatewayUrl,
      fetchFn: (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
        fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } }),
    });
    const results = await Promise.all(audits.map(async (audit) => ({ name: audit.name, result: await audit.fn() })));
    const failed = results.filter((r) => r.result.status !== 'ok').map((r) => `${r.name}: ${'reason' in r.result ? r.result.reason : ''}`);
    expect(failed).toEqual([]);
    const must = results.filter((r) => r.name.startsWith('MUST'));
    expect(must).toHaveLength(13);
    expect(results.length - must.length).toBe(48);
  });
});
