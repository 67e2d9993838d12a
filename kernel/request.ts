import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/**
 * Runs around every request a server handles (request scope, traces: see
 * kernel/plugins/); calls `next` once to hand the request on.
 */
export type RequestHook = (req: IncomingMessage, res: ServerResponse, next: () => Promise<void>) => Promise<void>;

/**
 * One request as the observability plugins see it (kernel/plugins/): its id,
 * what it asked and how it ended. Made by `requestScope` for each HTTP request
 * and reachable anywhere during it through `currentRequest()` (an
 * AsyncLocalStorage, so no signature has to carry it), filled in by the
 * GraphQL layer (`describeOperations`) and read by the plugins when the
 * response is done.
 */
export interface RequestRecord {
  id: string;
  method: string;
  /** the path without its query string (which may carry signed-link secrets or variables) */
  path: string;
  startedAt: number;
  /** set once the response is done */
  status?: number;
  durationMs?: number;
  /** false when the client went away before the response was complete */
  completed?: boolean;
  /** set for GraphQL requests */
  graphql?: {
    operationName: string | null;
    operationType?: string;
    /** ok: no errors; partial: data and errors; error: no data; refused: stopped before execution */
    outcome?: 'ok' | 'partial' | 'error' | 'refused';
    /** the contract codes of the errors, in order */
    errorCodes?: string[];
    /** set once Apollo Server's plugins saw the operation */
    described?: boolean;
  };
}

const scope = new AsyncLocalStorage<RequestRecord>();

/** The request being handled, if any. */
export function currentRequest(): RequestRecord | undefined {
  return scope.getStore();
}

/** The header a request id travels in: accepted from callers, forwarded to subgraphs, returned in responses. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller's request id may look like: 1-128 characters of letters, digits and `-_.:`. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is well-formed, a new one otherwise (a bad one is never echoed or logged). */
export function acceptRequestId(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

/** Called once per request when its response is done (or the client went away). */
export type ResponseListener = (record: RequestRecord, req: IncomingMessage, res: ServerResponse) => void;

/**
 * The outermost request hook: takes or makes the request id, returns it in
 * `x-request-id`, makes the record current for everything the request runs,
 * and tells `listeners` when the response is done.
 */
export function requestScope(listeners: ResponseListener[]): RequestHook {
  return (req, res, next) => {
    const record: RequestRecord = {
      id: acceptRequestId(req.headers[REQUEST_ID_HEADER]),
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0],
      startedAt: performance.now(),
    };
    res.setHeader(REQUEST_ID_HEADER, record.id);
    res.once('close', () => {
      record.status = res.statusCode;
      record.durationMs = performance.now() - record.startedAt;
      record.completed = res.writableFinished;
      if (record.graphql) refusedByStatus(record.graphql, record.status);
      for (const listener of listeners) listener(record, req, res);
    });
    return scope.run(record, next);
  };
}

/**
 * Marks the current request as a GraphQL one before Apollo Server sees it:
 * a request refused before Apollo's plugins run (no valid token: the context
 * cannot be built) still counts as a refused GraphQL request.
 */
export function markGraphQLRequest(body: unknown): void {
  const record = currentRequest();
  if (!record || record.graphql) return;
  const name = (body as { operationName?: unknown } | undefined)?.operationName;
  record.graphql = { operationName: typeof name === 'string' ? name : null };
}

/** The current GraphQL request was refused before Apollo Server saw it (rate limit, size, token), with this code. */
export function markRefused(code: string): void {
  const graphql = currentRequest()?.graphql;
  if (graphql && !graphql.outcome) Object.assign(graphql, { outcome: 'refused', errorCodes: [code] });
}

/** How a GraphQL request that never reached execution ended, from its HTTP status. */
function refusedByStatus(graphql: NonNullable<RequestRecord['graphql']>, status: number): void {
  if (graphql.outcome) return;
  const code = status === 401 ? 'UNAUTHENTICATED' : status === 429 ? 'RATE_LIMITED' : status >= 400 && status < 500 ? 'INVALID' : null;
  if (code) Object.assign(graphql, { outcome: 'refused', errorCodes: [code] });
}

const REFUSALS = new Set(['RATE_LIMITED', 'QUERY_TOO_COMPLEX', 'UNAUTHENTICATED']);

/** The Apollo Server plugin that tells the current record what operation ran and how it ended. */
export function describeOperations(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ request }) {
      const record = currentRequest();
      // Operations the gateway runs for itself (subscription payloads) inside another request describe nothing.
      if (!record || record.graphql?.outcome || (record.graphql && record.graphql.described)) return {};
      const graphql: NonNullable<RequestRecord['graphql']> = record.graphql ?? { operationName: request.operationName ?? null };
      graphql.described = true;
      record.graphql = graphql;
      let executed = false;
      return {
        async didResolveOperation({ operationName, operation }) {
          graphql.operationName = operationName ?? null;
          graphql.operationType = operation?.operation;
        },
        async executionDidStart() {
          executed = true;
        },
        async willSendResponse({ response }) {
          const result = response.body.kind === 'single' ? response.body.singleResult : null;
          const codes = (result?.errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          graphql.errorCodes = codes;
          const data = result?.data as Record<string, unknown> | null | undefined;
          if (!codes.length) graphql.outcome = 'ok';
          else if (!executed || REFUSALS.has(codes[0])) graphql.outcome = 'refused';
          else graphql.outcome = data && Object.values(data).some((v) => v !== null) ? 'partial' : 'error';
        },
      };
    },
  };
}
