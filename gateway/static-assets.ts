/**
 * Static files the gateway serves from memory (the offline IDE's bundles, the
 * CDS board's build): content type, ETag, a gzip copy when it is smaller, and
 * the cache policy of the caller's choosing.
 */
import { createHash } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export interface StaticAsset {
  /** the URL path it is served at */
  path: string;
  type: string;
  body: Buffer;
  gzip?: Buffer;
  etag: string;
  /** the first 16 hex digits of its SHA-256 */
  hash: string;
}

/** Cache policy for files whose URL changes with their content. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentHash(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

/** `path` may depend on the hash (e.g. `/ide/assets/<hash>/file.js`). */
export function makeStaticAsset(path: string | ((hash: string) => string), type: string, content: Buffer): StaticAsset {
  const hash = contentHash(content);
  const gzip = gzipSync(content, { level: 9 });
  return {
    path: typeof path === 'function' ? path(hash) : path,
    type,
    body: content,
    gzip: gzip.length < content.length ? gzip : undefined,
    etag: `"${hash}"`,
    hash,
  };
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
}

/** Answers GET/HEAD with the asset (304 when the client holds this version), gzipped when the client takes it. */
export function serveStaticAsset(
  req: IncomingMessage,
  res: ServerResponse,
  asset: StaticAsset,
  cacheControl = IMMUTABLE,
  extraHeaders: Record<string, string> = {},
): void {
  const headers: Record<string, string | number> = {
    'content-type': asset.type,
    'cache-control': cacheControl,
    etag: asset.etag,
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
    'cross-origin-resource-policy': 'same-origin',
    ...extraHeaders,
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = asset.gzip && acceptsGzip(req) ? asset.gzip : asset.body;
  if (body === asset.gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `host[:port]` or `[v6]:port`, as sent in a Host header; anything else is not echoed into a CSP. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** CSP3 lets 'self' cover ws:/wss: to the same host; older engines need the explicit origins. */
export function sameHostSockets(host: string | undefined): string {
  return host && HOST_HEADER.test(host) ? ` ws://${host} wss://${host}` : '';
}
