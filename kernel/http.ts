import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { parse as parseUrl } from 'node:url';
import { ApolloServer, BaseContext, HeaderMap } from '@apollo/server';
import { componentLogger } from './log';
import { markGraphQLRequest, RequestHook } from './request';

/** A route handler; returns false to fall through to the next one. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

const log = componentLogger('http');

const MAX_BODY_BYTES = 1_000_000;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('Request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Serves an Apollo Server at `path` over plain node:http (no framework needed). */
export function apolloRoute<C extends BaseContext>(
  server: ApolloServer<C>,
  path: string,
  context: (req: IncomingMessage) => Promise<C>,
): Route {
  return async (req, res, url) => {
    if (url.pathname !== path) return false;
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req);
      const type = headers.get('content-type') ?? '';
      if (raw && type.includes('json')) {
        try {
          body = JSON.parse(raw);
        } catch {
          sendJson(res, 400, { errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] });
          return true;
        }
      } else body = raw;
    }
    markGraphQLRequest(body);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: parseUrl(req.url ?? '').search ?? '', body },
      context: () => context(req),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
    return true;
  };
}

/** Liveness and readiness: `/health` answers while the process runs, `/ready` when `ready()` holds. */
export function healthRoute(ready: () => Promise<boolean>): Route {
  return async (_req, res, url) => {
    if (url.pathname === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (url.pathname === '/ready') {
      const ok = await ready().catch(() => false);
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      return true;
    }
    return false;
  };
}

export interface RunningHttpServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts a node:http server trying each route in turn (inside `hooks`, outermost first); 404 otherwise. */
export async function listen(port: number, routes: Route[], host = '0.0.0.0', hooks: RequestHook[] = []): Promise<RunningHttpServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      for (const route of routes) if (await route(req, res, url)) return;
      sendJson(res, 404, { error: `Nothing at ${url.pathname}` });
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      if (status >= 500) log.error({ err: error, path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, status, { errors: [{ message: status === 413 ? 'Request body too large' : 'Internal server error', extensions: { code: status === 413 ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR' } }] });
      else res.end();
    }
  };
  const server = http.createServer((req, res) => {
    const run = hooks.reduceRight<() => Promise<void>>((next, hook) => () => hook(req, res, next), () => handle(req, res));
    run().catch((error) => {
      log.error({ err: error }, 'request hook failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
