import { GraphQLError, GraphQLFormattedError } from 'graphql';

/** The error codes of the client contract (README, "Errors"). Nothing else reaches a client. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'QUERY_TOO_COMPLEX'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };

/** An error a person can act on: a contract code plus a message in plain words. */
export class DomainError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    const status = HTTP_STATUS[code];
    super(message, { extensions: { code, ...details, ...(status ? { http: { status } } : {}) } });
  }
}

export const unauthenticated = (message = 'A valid bearer token is required') => new DomainError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
export const notFound = (what: string, id: string) => new DomainError('NOT_FOUND', `${what} '${id}' does not exist`, { id });
export const badInput = (message: string, field?: string) => new DomainError('BAD_USER_INPUT', message, field ? { field } : {});
export const conflict = (message: string) => new DomainError('CONFLICT', message);

/**
 * A subgraph that is down, slow or failing, as the gateway reports it on each
 * field that subgraph owns (docs/partial-answers.md): INTERNAL_SERVER_ERROR
 * with the subgraph's name and what happened, and a message that says so.
 */
export class SubgraphUnavailableError extends GraphQLError {
  constructor(
    message: string,
    readonly subgraph: string,
    readonly reason: 'TIMEOUT' | 'UNAVAILABLE' | 'FAILED',
    path?: readonly (string | number)[],
  ) {
    super(message, { path, extensions: { code: 'INTERNAL_SERVER_ERROR', subgraph, reason } });
  }
}

export const subgraphUnavailable = (
  message: string,
  subgraph: string,
  reason: 'TIMEOUT' | 'UNAVAILABLE' | 'FAILED',
  path?: readonly (string | number)[],
) => new SubgraphUnavailableError(message, subgraph, reason, path);

const CONTRACT_CODES = new Set<string>([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'CONFLICT',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
  'INTERNAL_SERVER_ERROR',
]);

/** Apollo's own codes for requests that are malformed rather than refused. */
const REQUEST_SHAPE_CODES = new Set<string>([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Shapes every error that leaves a server: contract codes pass through with
 * their message; request-shape problems become BAD_USER_INPUT; anything else
 * (a bug, a lost database) becomes a bare INTERNAL_SERVER_ERROR, so no stack
 * trace or SQL ever reaches a client. The original is logged by the caller.
 */
export function toContractError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  // Apollo wraps errors raised by validation rules; the contract code is on the original.
  const unavailable = originalOf(error, SubgraphUnavailableError);
  if (unavailable) {
    return {
      message: unavailable.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', subgraph: unavailable.subgraph, reason: unavailable.reason },
    };
  }
  const original = originalOf(error, DomainError);
  const code = original?.code ?? String(formatted.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
  const { stacktrace: _s, exception: _e, serviceName: _n, http: _h, ...rest } = (formatted.extensions ?? {}) as Record<string, unknown>;
  if (CONTRACT_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
    return { ...formatted, extensions: { ...rest, code } };
  }
  // graphql's parser stopped at the token cap (kernel/graphql/limits.ts): a limit, not a typo.
  if (code === 'GRAPHQL_PARSE_FAILED' && /Document contains more tha[nt] \d+ tokens/.test(formatted.message)) {
    return {
      message: `The operation is too complex: ${formatted.message.replace(/^Syntax Error: /, '').replace('more that', 'more than')}`,
      extensions: { ...rest, code: 'QUERY_TOO_COMPLEX' },
    };
  }
  if (REQUEST_SHAPE_CODES.has(code)) {
    return { ...formatted, extensions: { ...rest, code: 'BAD_USER_INPUT' } };
  }
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

function originalOf<E>(error: unknown, type: abstract new (...args: never[]) => E): E | null {
  for (let e = error as { originalError?: unknown } | undefined, depth = 0; e && depth < 5; e = e.originalError as typeof e, depth++) {
    if (e instanceof type) return e;
  }
  return null;
}
