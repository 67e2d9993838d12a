import { IncomingMessage, ServerResponse } from 'node:http';
import jwt from 'jsonwebtoken';
import { DomainError, ErrorCode } from '../kernel/errors';
import { sendJson, Route } from '../kernel/http';
import { Identity, Role, TokenVerifier } from '../kernel/identity';
import { MAX_PAGE_SIZE } from '../kernel/graphql/connection';
import { mayReadPersonalData } from '../subgraphs/recordings/rules';
import { componentLogger } from '../kernel/log';

const log = componentLogger('rest');

/**
 * REST compatibility: `GET /api/v1/pbx/recordings` (contract README, "REST"),
 * for integrations written against the PBX API.
 *
 * It holds no rule of its own about who sees what: every request becomes one
 * GraphQL operation POSTed to the gateway's own /graphql with the caller's
 * Authorization header, so the subgraphs authorise it exactly as they
 * authorise GraphQL clients, and their error codes become HTTP statuses.
 */

export const RECORDINGS_REST_PATH = '/api/v1/pbx/recordings';
export const REST_COUNT_DEFAULT = 100;

export interface GatewayCallDeps {
  /**
   * The gateway's own GraphQL endpoint (e.g. http://127.0.0.1:4000/graphql),
   * asked per request so the route can be built before the gateway listens.
   */
  graphqlUrl: () => string;
  /**
   * Verifies the caller's token up front (401 before any work, and the role
   * and PBX claims it uses); the subgraphs verify it again either way. When
   * absent those claims are read from the unverified token, which can only
   * pick defaults: a forged token is still refused by the subgraphs.
   */
  verifier?: TokenVerifier;
}

export type RecordingsRestDeps = GatewayCallDeps;

/** The error envelope of the PBX API. */
export function sendRestError(res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { type: 'error', reason }, { 'cache-control': 'no-store', ...headers });
}

/** How a GraphQL error code answers over plain HTTP. */
export function httpStatusOf(code: string | undefined): number {
  const statuses: Partial<Record<ErrorCode, number>> = {
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    BAD_USER_INPUT: 400,
    QUERY_TOO_COMPLEX: 400,
    CONFLICT: 409,
    RATE_LIMITED: 429,
  };
  return statuses[code as ErrorCode] ?? 500;
}

export interface GraphQLCallError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string };
}

export interface GraphQLCallResult<T> {
  data?: T | null;
  errors?: GraphQLCallError[];
}

/** Runs one operation through the gateway as the caller (their Authorization header, nothing added). */
export async function executeAsCaller<T>(
  deps: GatewayCallDeps,
  authorization: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<GraphQLCallResult<T>> {
  const response = await fetch(deps.graphqlUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLCallResult<T>;
  } catch {
    throw new Error(`The gateway answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** Who the caller says they are: verified when a verifier is given, else only decoded (see GatewayCallDeps.verifier). */
export async function callerClaims(deps: GatewayCallDeps, authorization: string): Promise<Pick<Identity, 'role' | 'pbx'>> {
  if (deps.verifier) return deps.verifier.verify(authorization);
  const token = /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
  const claims = token ? jwt.decode(token) : null;
  // Not a JWT at all: any role will do, the gateway refuses the token (401) before anything is read.
  if (!claims || typeof claims === 'string') return { role: 'admin', pbx: null };
  return { role: claims.role as Role, pbx: typeof claims.pbx === 'string' ? claims.pbx.toLowerCase() : null };
}

/** The contract's page of the PBX API. */
export interface RestRecording {
  id: string;
  callId: string;
  /** Unix seconds */
  start: number;
  duration: number;
  size: number;
  caller: string | null;
  callee: string | null;
  location: string;
  /** Unix seconds */
  localCopyExpires: number | null;
  sha256: string | null;
}

interface RecordingNode {
  id: string;
  callId: string;
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  caller?: string | null;
  callee?: string | null;
  location: string;
  localCopyExpiresAt: string | null;
  sha256: string | null;
}

interface RecordingsByOffset {
  pbx: { id: string; recordingsByOffset: { totalCount: number; nodes: RecordingNode[] } } | null;
}

/** `@include(if: $personal)`: a caller who may not read caller/callee does not ask for them (see the redaction note below). */
export const REST_RECORDINGS_QUERY = `query RestRecordings($pbx: ID!, $offset: Int!, $first: Int!, $from: DateTime, $to: DateTime, $personal: Boolean!) {
  pbx(id: $pbx) {
    id
    recordingsByOffset(offset: $offset, first: $first, filter: { from: $from, to: $to }) {
      totalCount
      nodes {
        id callId startedAt durationSeconds sizeBytes
        caller @include(if: $personal)
        callee @include(if: $personal)
        location localCopyExpiresAt sha256
      }
    }
  }
}`;

const PERSONAL_FIELDS = ['caller', 'callee'] as const;
const MAX_INT = 2 ** 31 - 1;
const unixSeconds = (iso: string | null) => (iso === null ? null : Math.floor(Date.parse(iso) / 1000));

class RestInputError extends Error {}

function wholeNumber(params: URLSearchParams, name: string, fallback: number | null, max = MAX_INT): number | null {
  const raw = params.get(name);
  if (raw === null || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) > max) {
    throw new RestInputError(`'${name}' must be a whole number from 0 to ${max} (got '${raw}')`);
  }
  return Number(raw);
}

export function recordingsRestRoute(deps: RecordingsRestDeps): Route {
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname !== RECORDINGS_REST_PATH && url.pathname !== `${RECORDINGS_REST_PATH}/`) return false;
    if (req.method !== 'GET') {
      sendRestError(res, 405, `${req.method} is not supported here; use GET`, { allow: 'GET' });
      return true;
    }
    const authorization = req.headers.authorization?.trim();
    if (!authorization) {
      sendRestError(res, 401, 'Missing Authorization header: send "Bearer <JWT>"');
      return true;
    }
    let caller: Pick<Identity, 'role' | 'pbx'>;
    try {
      caller = await callerClaims(deps, authorization);
    } catch (error) {
      if (error instanceof DomainError) {
        sendRestError(res, httpStatusOf(error.code), error.message);
        return true;
      }
      throw error;
    }

    const params = url.searchParams;
    let variables: Record<string, unknown>;
    try {
      // A PBX token reads its own PBX, so it may leave `pbx` out; the subgraphs refuse any other it names.
      const pbx = params.get('pbx')?.trim() || (caller.role === 'pbx' ? caller.pbx : null);
      if (!pbx) throw new RestInputError("'pbx' (the PBX serial) is required");
      const offset = wholeNumber(params, 'start', 0)!;
      const first = wholeNumber(params, 'count', REST_COUNT_DEFAULT)!;
      if (first < 1 || first > MAX_PAGE_SIZE) throw new RestInputError(`'count' must be between 1 and ${MAX_PAGE_SIZE} (got ${first})`);
      // Unix seconds on the call start: `from` inclusive, `to` exclusive, as in GraphQL.
      const from = wholeNumber(params, 'from', null, 253402300799);
      const to = wholeNumber(params, 'to', null, 253402300799);
      variables = {
        pbx,
        offset,
        first,
        from: from === null ? null : new Date(from * 1000).toISOString(),
        to: to === null ? null : new Date(to * 1000).toISOString(),
        personal: mayReadPersonalData(caller),
      };
    } catch (error) {
      if (error instanceof RestInputError) {
        sendRestError(res, 400, error.message);
        return true;
      }
      throw error;
    }

    let result: GraphQLCallResult<RecordingsByOffset>;
    try {
      result = await executeAsCaller<RecordingsByOffset>(deps, authorization, REST_RECORDINGS_QUERY, variables);
    } catch (error) {
      log.error({ err: error }, 'recordings lookup failed');
      sendRestError(res, 500, 'Internal server error');
      return true;
    }

    /*
     * Decision (personal data for analysts): the endpoint answers 200 with
     * `caller` and `callee` set to null and `"redacted": ["caller", "callee"]`
     * in the result, rather than 403. A REST client cannot leave fields out
     * the way a GraphQL client can, so refusing the whole call would make the
     * endpoint useless to analyst integrations, while the personal data still
     * never leaves the subgraph (it is not even asked for). The marker tells
     * a null that means "withheld" from a null that means "not recorded".
     * A FORBIDDEN on those two fields alone (a role the rule changed for)
     * redacts the same way instead of failing the call.
     */
    const errors = result.errors ?? [];
    const personalRefusals = errors.filter(
      (e) => e.extensions?.code === 'FORBIDDEN' && PERSONAL_FIELDS.includes(e.path?.at(-1) as (typeof PERSONAL_FIELDS)[number]),
    );
    const otherErrors = errors.filter((e) => !personalRefusals.includes(e));
    if (otherErrors.length) {
      const error = otherErrors[0];
      const status = httpStatusOf(error.extensions?.code);
      sendRestError(res, status, status === 500 ? 'Internal server error' : error.message);
      return true;
    }
    const pbx = result.data?.pbx;
    if (!pbx) {
      sendRestError(res, 404, `PBX '${String(variables.pbx)}' does not exist`);
      return true;
    }
    const redacted = !variables.personal || personalRefusals.length > 0;
    const page = pbx.recordingsByOffset;
    const records: RestRecording[] = page.nodes.map((node) => ({
      id: node.id,
      callId: node.callId,
      start: unixSeconds(node.startedAt)!,
      duration: node.durationSeconds,
      size: node.sizeBytes,
      caller: redacted ? null : (node.caller ?? null),
      callee: redacted ? null : (node.callee ?? null),
      location: node.location,
      localCopyExpires: unixSeconds(node.localCopyExpiresAt),
      sha256: node.sha256,
    }));
    sendJson(
      res,
      200,
      {
        type: 'result',
        result: { total: page.totalCount, records, ...(redacted ? { redacted: [...PERSONAL_FIELDS] } : {}) },
      },
      { 'cache-control': 'no-store' },
    );
    return true;
  };
}
