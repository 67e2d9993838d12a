import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { parse as parseUrl } from 'node:url';
import { ApolloServer, BaseContext, HeaderMap } from '@apollo/server';
import { Readiness } from './readiness';
import { GraphQLError } from 'graphql';
import { toContractError } from './errors';
import { componentLogger } from './log';
import { markGraphQLRequest, markRefused, RequestHook } from './request';

/** A route handler; returns false to fall through to the next one. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

const log = componentLogger('http');

/** The default largest request body (MAX_BODY_BYTES). */
export const MAX_BODY_BYTES = 1_000_000;

/** A request refused at the HTTP level (413, 415, ...), answered by `listen`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: 'BAD_USER_INPUT' | 'INTERNAL_SERVER_ERROR' = 'BAD_USER_INPUT',
  ) {
    super(message);
  }
}

/**
 * Reads a request body up to `limit` bytes. Over it (by Content-Length up
 * front, or while streaming) it throws a 413 HttpError without reading
 * further; `listen` answers it and closes the connection, since the rest of
 * the body is still on the wire.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () => new HttpError(413, `The request body is over ${limit} bytes`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const graphqlError = (message: string, code = 'BAD_USER_INPUT') => ({ errors: [{ message, extensions: { code } }] });

/** Did the client ask for plain `application/json` only (the GraphQL-over-HTTP spec's legacy watershed)? */
function acceptsOnlyLegacyJson(accept: string | undefined): boolean {
  return !!accept && /application\/json/i.test(accept) && !/application\/graphql-response\+json/i.test(accept);
}

/** The operation fields of a GraphQL-over-HTTP request, as sent (unchecked). */
export interface RawGraphQLRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface ApolloRouteOptions<C> {
  maxBodyBytes?: number;
  /**
   * Runs before Apollo sees the request (Apollo masks errors thrown by its own
   * first hooks as 500s): throw a GraphQLError with `extensions.http.status`
   * to refuse it (size, rate limit). Gets the caller's context, made first.
   */
  admit?: (request: RawGraphQLRequest, context: C) => Promise<void> | void;
}

/** The operation fields of a request: the JSON body of a POST, the search parameters of a GET. */
function rawRequestOf(method: string, body: unknown, search: URLSearchParams): RawGraphQLRequest | null {
  if (method === 'GET') {
    return {
      query: search.get('query') ?? undefined,
      operationName: search.get('operationName') ?? undefined,
      variables: search.get('variables') ?? undefined,
    };
  }
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as RawGraphQLRequest) : null;
}

/** Answers a refusal made before Apollo, in the shape Apollo answers its own. */
function sendRefusal(req: IncomingMessage, res: ServerResponse, error: GraphQLError): void {
  const http = error.extensions?.http as { status?: number } | undefined;
  let status = http?.status ?? 400;
  const wantsGraphQLResponse = /application\/graphql-response\+json/i.test(req.headers.accept ?? '');
  if (status === 400 && acceptsOnlyLegacyJson(req.headers.accept)) status = 200;
  const body = JSON.stringify({ errors: [toContractError(error.toJSON(), error)] });
  res.writeHead(status, {
    'content-type': `${wantsGraphQLResponse ? 'application/graphql-response+json' : 'application/json'}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Serves an Apollo Server at `path` over plain node:http (no framework needed). */
export function apolloRoute<C extends BaseContext>(
  server: ApolloServer<C>,
  path: string,
  context: (req: IncomingMessage) => Promise<C>,
  options: ApolloRouteOptions<C> = {},
): Route {
  return async (req, res, url) => {
    if (url.pathname !== path) return false;
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readBody(req, options.maxBodyBytes);
      const type = headers.get('content-type') ?? '';
      if (raw && type.includes('json')) {
        try {
          body = JSON.parse(raw);
        } catch {
          sendJson(res, 400, graphqlError('The request body is not valid JSON'));
          return true;
        }
      } else body = raw;
    }
    markGraphQLRequest(body);
    const search = parseUrl(req.url ?? '').search ?? '';
    let contextValue: C;
    try {
      contextValue = await context(req);
      const raw = rawRequestOf(req.method ?? 'GET', body, new URLSearchParams(search));
      if (raw && options.admit) await options.admit(raw, contextValue);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      markRefused(String(error.extensions?.code ?? 'INVALID'));
      sendRefusal(req, res, error);
      return true;
    }
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: async () => contextValue,
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    let status = response.status ?? 200;
    // GraphQL-over-HTTP: a client that accepts only application/json gets 200 for a request error
    // (it reads `errors`); application/graphql-response+json clients (and those who name neither) get 400.
    if (
      status === 400 &&
      acceptsOnlyLegacyJson(req.headers.accept) &&
      String(response.headers.get('content-type') ?? '').startsWith('application/json')
    )
      status = 200;
    res.statusCode = status;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
    return true;
  };
}

/**
 * CORS for browsers on other origins: only the configured ones (CORS_ORIGINS;
 * `*` for any) get the headers, and preflights are answered here. Tokens go
 * in the Authorization header, never in cookies, so credentials are not allowed.
 */
export function corsRoute(origins: readonly string[]): Route {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin || (!any && !allowed.has(origin))) {
      if (req.method === 'OPTIONS' && origin) {
        res.writeHead(403, { vary: 'Origin' }).end();
        return true;
      }
      return false;
    }
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, accept, range',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    return false;
  };
}

/** Liveness and readiness: `/health` answers while the process runs, `/ready` with every check of `readiness` (kernel/readiness.ts). */
export function healthRoute(readiness: Readiness): Route {
  return async (_req, res, url) => {
    if (url.pathname === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (url.pathname === '/ready') {
      const report = await readiness.report();
      sendJson(res, report.status === 'ready' ? 200 : 503, report, { 'cache-control': 'no-store' });
      return true;
    }
    return false;
  };
}

export interface RunningHttpServer {
  server: http.Server;
  port: number;
  url: string;
  /** requests being answered right now */
  readonly inFlight: number;
  /** Closes at once, cutting what is in flight (tests stopping a service hard). */
  close(): Promise<void>;
  /**
   * Graceful: stops accepting connections, lets in-flight requests finish
   * (each keep-alive connection closes after its answer), and after
   * `timeoutMs` cuts what is left; resolves with how many were cut.
   */
  drain(timeoutMs: number): Promise<{ cut: number }>;
}

/** Starts a node:http server trying each route in turn (inside `hooks`, outermost first); 404 otherwise. */
export async function listen(port: number, routes: Route[], host = '127.0.0.1', hooks: RequestHook[] = []): Promise<RunningHttpServer> {
  let inFlight = 0;
  let draining = false;
  const settled = new Set<() => void>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      for (const route of routes) if (await route(req, res, url)) return;
      sendJson(res, 404, { error: `Nothing at ${url.pathname}` });
    } catch (error) {
      if (error instanceof HttpError) {
        // The rest of a refused body may still be on the wire: answer, then close the connection cleanly.
        if (!res.headersSent) sendJson(res, error.status, graphqlError(error.message, error.code), { connection: 'close' });
        else res.end();
        return;
      }
      log.error({ err: error, path: url.pathname }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, graphqlError('Internal server error', 'INTERNAL_SERVER_ERROR'));
      else res.end();
    }
  };
  const server = http.createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) for (const wake of settled) wake();
    });
    // While draining, a keep-alive connection is closed after the answer it is getting.
    if (draining) res.setHeader('connection', 'close');
    const run = hooks.reduceRight<() => Promise<void>>(
      (next, hook) => () => hook(req, res, next),
      () => handle(req, res),
    );
    run().catch((error) => {
      log.error({ err: error }, 'request hook failed');
      if (!res.headersSent) sendJson(res, 500, graphqlError('Internal server error', 'INTERNAL_SERVER_ERROR'));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const closed = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    get inFlight() {
      return inFlight;
    },
    close: async () => {
      server.closeAllConnections();
      await closed();
    },
    async drain(timeoutMs: number) {
      draining = true;
      // No new connections; idle keep-alive ones are closed now, busy ones after their answer.
      const done = closed();
      server.closeIdleConnections();
      const deadline = Date.now() + timeoutMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            settled.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(50, Math.max(1, deadline - Date.now())));
          settled.add(wake);
        });
        server.closeIdleConnections();
      }
      const cut = inFlight;
      server.closeAllConnections();
      await done;
      return { cut };
    },
  };
}
