import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { testConfig } from '../kernel/config';
import { createTokenVerifier, signToken } from '../kernel/identity';
import { RunningGateway, startGateway } from '../gateway/server';
import { postGraphQL, REDIS_URL, startTestStack, TEST_SECRET, TestStack } from './support/harness';

/**
 * The rate limit is one budget per caller across every gateway instance
 * (rate-limiter-flexible on Redis), with budgets per role (issue 10).
 */
describe('rate limit shared by gateway instances through Redis', () => {
  let stack: TestStack;
  const gateways: RunningGateway[] = [];
  const keyPrefix = `cds-test:${process.pid}:${randomBytes(3).toString('hex')}:rl`;

  beforeAll(async () => {
    stack = await startTestStack();
    const supergraphSdl = fs.readFileSync(path.join(__dirname, '..', 'schema', 'supergraph.graphql'), 'utf8');
    // Six a minute, all at once if the caller likes (a minute-long window: no test here lasts that long).
    const config = testConfig({ REDIS_URL, RATE_LIMIT_PER_MINUTE: '6', RATE_LIMIT_BURST: '6', RATE_LIMIT_ROLES: 'pbx=3' });
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await startGateway({
          config,
          port: 0,
          supergraphSdl,
          verifier: createTokenVerifier({ secret: TEST_SECRET }),
          rateLimit: { keyPrefix },
          subgraphUrls: Object.fromEntries(Object.values(stack.subgraphs).map((s) => [s.name, s.url])),
        }),
      );
    }
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await stack?.stop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const query = '{ bundleTiers { code } }';

  it('counts a caller once across two gateway instances, and answers 429 over the budget', async () => {
    const caller = signToken(TEST_SECRET, { sub: `shared-${randomBytes(3).toString('hex')}`, role: 'admin' });
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const result = await postGraphQL(gateways[i % 2].url, query, {}, caller);
      outcomes.push(result.errors ? `${result.status} ${result.errors[0].extensions?.code}` : String(result.status));
    }
    expect(outcomes).toEqual(['200', '200', '200', '200', '200', '200', '429 RATE_LIMITED', '429 RATE_LIMITED']);
    // another caller has a budget of its own
    expect((await postGraphQL(gateways[0].url, query, {}, signToken(TEST_SECRET, { sub: 'someone-else', role: 'admin' }))).status).toBe(
      200,
    );
  });

  it('gives each role its own budget (RATE_LIMIT_ROLES)', async () => {
    const pbx = signToken(TEST_SECRET, { sub: `pbx:${randomBytes(3).toString('hex')}`, role: 'pbx', pbx: '22110001d076' });
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) codes.push((await postGraphQL(gateways[i % 2].url, query, {}, pbx)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
  });
});
