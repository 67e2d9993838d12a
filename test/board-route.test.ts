import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { boardRoute } from '../gateway/board';
import { get as httpGet } from 'node:http';
import { listen, RunningHttpServer } from '../kernel/http';

/** How the gateway serves the board's build: SPA fallback, content types, caching, CSP, and a missing build. */
describe('the /board route', () => {
  let dist: string;
  let server: RunningHttpServer;
  let missing: RunningHttpServer;
  const js = 'console.log("board");\n'.repeat(50);

  beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'cds-board-dist-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>CDS board</title><script type="module" src="/board/assets/index-abc123.js"></script>');
    fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), js);
    fs.writeFileSync(path.join(dist, 'assets', 'index-def456.css'), 'body{}');
    server = await listen(0, [boardRoute({ distDir: dist })], '127.0.0.1');
    missing = await listen(0, [boardRoute({ distDir: path.join(dist, 'nothing-here') })], '127.0.0.1');
  });

  afterAll(async () => {
    await server.close();
    await missing.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('redirects /board to /board/, keeping the query', async () => {
    const response = await fetch(`${server.url}/board?x=1`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('/board/?x=1');
  });

  it.each(['/board/', '/board/customers', '/board/networks/acme-hq', '/board/pbxs/22110001d072'])('serves the page at %s, revalidated, with a CSP', async (page) => {
    const response = await fetch(`${server.url}${page}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:/);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(await response.text()).toContain('<title>CDS board</title>');
  });

  it('serves hashed assets with their content type, immutable caching, gzip and ETags', async () => {
    const response = await fetch(`${server.url}/board/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await response.text()).toBe(js); // fetch decodes the gzip
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      // node's fetch hides content-encoding handling; check the bytes on the wire once.
      httpGet(`${server.url}/board/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe(js);
    const etag = response.headers.get('etag')!;
    expect((await fetch(`${server.url}/board/assets/index-abc123.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${server.url}/board/assets/index-def456.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for a file that is not in the build, and 405 for anything but GET/HEAD', async () => {
    expect((await fetch(`${server.url}/board/assets/index-old.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/board/assets/../../etc/passwd`)).status).not.toBe(200);
    expect((await fetch(`${server.url}/board/favicon.ico`)).status).toBe(404);
    expect((await fetch(`${server.url}/board/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/graphql`)).status).toBe(404); // not the board's
  });

  it('says how to build the board when it is not built', async () => {
    const response = await fetch(`${missing.url}/board/customers`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toContain('npm run build:board');
  });
});

/** The offline IDE serves its bundles through the same static-asset code (gateway/static-assets.ts). */
describe('the IDE route on the shared static assets', () => {
  let server: RunningHttpServer;

  beforeAll(async () => {
    const { ideRoute } = await import('../gateway/ide');
    server = await listen(0, [ideRoute({ graphqlPath: '/graphql', defaultToken: 'dev-token' })], '127.0.0.1');
  });

  afterAll(() => server.close());

  it('serves the page uncached and each bundle immutable, with its content type and a working ETag', async () => {
    const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const assets = [...(await page.text()).matchAll(/(?:src|href)="(\/ide\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBe(6);
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(asset.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${server.url}${asset}`, { headers: { 'if-none-match': response.headers.get('etag')! } })).status).toBe(304);
    }
  });
});
