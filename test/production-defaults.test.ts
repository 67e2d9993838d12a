import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import jwt from 'jsonwebtoken';
import { testConfig } from '../kernel/config';
import { createTokenVerifier, signToken, TokenVerifier } from '../kernel/identity';
import { MemoryBus } from '../kernel/events/memory-bus';
import { startSubgraph } from '../kernel/subgraph';
import { licensingSubgraph } from '../subgraphs/licensing/schema';
import { postGraphQL, startTestStack, TEST_SECRET, TestStack, tokens } from './support/harness';

const ROOT = path.join(__dirname, '..');
const PRODUCTION_SECRET = 'a-production-secret-of-at-least-32-characters';

async function refusal(verifier: TokenVerifier, token: string): Promise<string> {
  try {
    await verifier.verify(`Bearer ${token}`);
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'accepted';
}

/** Safe by default in production (issue 10): no development conveniences, keys of its own, tokens that expire. */
describe('production defaults', () => {
  describe('a gateway and subgraphs with NODE_ENV=production', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack({ env: { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET } });
    });
    afterAll(() => stack?.stop());

    it('refuses introspection, at the gateway and at each subgraph', async () => {
      for (const url of [stack.gatewayUrl, stack.subgraphs.network.url]) {
        const result = await postGraphQL(url, '{ __schema { types { name } } }');
        expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        expect(result.errors?.[0].message).toMatch(/introspection/i);
      }
    });

    it('gives no "Did you mean" suggestions', async () => {
      const result = await stack.gql('{ bundleTier { code } }');
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0].message).not.toMatch(/Did you mean/);
    });
  });

  it('development keeps introspection and suggestions on', async () => {
    const stack = await startTestStack();
    try {
      expect((await stack.gql('{ __schema { queryType { name } } }', {}, tokens.analyst())).errors).toBeUndefined();
      expect((await stack.gql('{ bundleTier { code } }')).errors?.[0].message).toMatch(/Did you mean/);
    } finally {
      await stack.stop();
    }
  });

  it('npm start in production serves no IDE and prints no token', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-prod-start-'));
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'dev/start.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        JWT_SECRET: PRODUCTION_SECRET,
        PORT: '0',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    try {
      for (const started = Date.now(); !/Ctrl\+C/.test(output); await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() - started > 90_000 || child.exitCode !== null) throw new Error(`npm start did not come up: ${output}`);
      }
      const endpoint = /GraphQL endpoint\s+(\S+)/.exec(output)![1];
      expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/); // no JWT anywhere
      expect(output).not.toMatch(/GraphQL IDE/);
      const page = await fetch(endpoint.replace(/\/graphql$/, '/'), { headers: { accept: 'text/html' } });
      expect(page.status).toBe(404);
      expect(await page.text()).not.toMatch(/eyJ/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  describe('tokens', () => {
    const secretVerifier = createTokenVerifier({ secret: TEST_SECRET });

    it('must carry exp', async () => {
      const forever = jwt.sign({ sub: 'x', role: 'admin' }, TEST_SECRET, { algorithm: 'HS256' });
      expect(await refusal(secretVerifier, forever)).toMatch(/UNAUTHENTICATED: .*expiry/);
      expect(await refusal(secretVerifier, signToken(TEST_SECRET, { sub: 'x', role: 'admin' }))).toBe('accepted');
      const expired = jwt.sign({ sub: 'x', role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { algorithm: 'HS256' });
      expect(await refusal(secretVerifier, expired)).toMatch(/expired/);
    });

    it('must carry iss and aud when they are configured', async () => {
      const verifier = createTokenVerifier({ secret: TEST_SECRET, issuer: 'https://idp.example', audience: 'cds-graph' });
      const sign = (claims: object) => jwt.sign({ sub: 'x', role: 'admin', ...claims }, TEST_SECRET, { algorithm: 'HS256', expiresIn: 60 });
      expect(await refusal(verifier, sign({}))).toMatch(/iss/);
      expect(await refusal(verifier, sign({ iss: 'https://idp.example' }))).toMatch(/aud/);
      expect(await refusal(verifier, sign({ iss: 'https://other.example', aud: 'cds-graph' }))).toMatch(/iss/);
      expect(await refusal(verifier, sign({ iss: 'https://idp.example', aud: 'cds-graph' }))).toBe('accepted');
    });

    it('verifies PEM public keys, and refuses an HS256 token made with the public key as its secret', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const verifier = createTokenVerifier({ publicKey: pem });
      expect(await refusal(verifier, jwt.sign({ sub: 'x', role: 'admin' }, privateKey, { algorithm: 'RS256', expiresIn: 60 }))).toBe(
        'accepted',
      );
      expect(await refusal(verifier, jwt.sign({ sub: 'x', role: 'admin' }, pem, { algorithm: 'HS256', expiresIn: 60 }))).toMatch(
        /not valid/,
      );
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', role: 'admin', exp: 9e9 })).toString('base64url')}.`;
      expect(await refusal(verifier, unsigned)).toMatch(/not valid/);
    });

    it('verifies tokens against a JWKS endpoint (jose), refusing keys it does not list', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const stranger = await generateKeyPair('RS256');
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      const server = http.createServer((_req, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const verifier = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json` });
        const sign = (key: Parameters<SignJWT['sign']>[0]) =>
          new SignJWT({ role: 'partner', customers: ['c1'] })
            .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
            .setSubject('p1')
            .setExpirationTime('5m')
            .sign(key);
        const identity = await verifier.verify(`Bearer ${await sign(privateKey)}`);
        expect(identity).toMatchObject({ sub: 'p1', role: 'partner', customers: ['c1'] });
        expect(await refusal(verifier, await sign(stranger.privateKey))).toMatch(/not valid/);
      } finally {
        server.close();
      }
    });
  });

  it('listens on the configured interface (HOST), 127.0.0.1 by default', async () => {
    expect(testConfig().host).toBe('127.0.0.1');
    const bus = new MemoryBus();
    const subgraph = await startSubgraph(licensingSubgraph, {
      config: testConfig({ HOST: '127.0.0.2' }),
      port: 0,
      db: { kind: 'sqlite', file: ':memory:' },
      bus,
      verifier: createTokenVerifier({ secret: TEST_SECRET }),
    });
    try {
      expect((subgraph.http.server.address() as AddressInfo).address).toBe('127.0.0.2');
    } finally {
      await subgraph.stop();
      await bus.close();
    }
  });
});
