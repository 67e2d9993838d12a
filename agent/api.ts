import { AgentError } from './errors';

/** One GraphQL error as the gateway sends it (contract README "Errors"). */
export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string } & Record<string, unknown>;
}

/** The gateway refused an operation: its contract code and the message it gave, meant for a person. */
export class GraphQLRequestError extends AgentError {
  constructor(
    message: string,
    readonly code: string | null,
    readonly errors: GraphQLErrorBody[] = [],
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }

  /** True when any error of the response carries `code` (e.g. CONFLICT). */
  has(code: string): boolean {
    return this.code === code || this.errors.some((e) => e.extensions?.code === code);
  }
}

/** The gateway could not be reached (or kept answering 5xx) even after retrying. */
export class GatewayUnavailableError extends AgentError {
  constructor(url: string, cause: string) {
    super(`The gateway at ${url} cannot be reached (${cause}); nothing is lost: run the agent again to resume`);
    this.name = 'GatewayUnavailableError';
  }
}

export interface GraphQLClientOptions {
  /** Attempts for transport failures, 5xx answers and RATE_LIMITED, with exponential backoff. */
  attempts?: number;
  /** First backoff delay; doubles each attempt. */
  backoffMs?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A minimal GraphQL-over-HTTP client on Node's fetch: POST JSON with the PBX's
 * bearer token. Retries what is worth retrying (the network, a restarting
 * gateway, rate limiting); every command the agent sends is idempotent or
 * checked by the caller after a retry, so a lost answer does no harm.
 */
export class GraphQLClient {
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;

  constructor(
    readonly url: string,
    private readonly token: string,
    options: GraphQLClientOptions = {},
  ) {
    this.attempts = options.attempts ?? 6;
    this.backoffMs = options.backoffMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Runs an operation and answers its data; throws GraphQLRequestError when the answer carries errors. */
  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let lastCause = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await sleep(this.backoffMs * 2 ** (attempt - 2));
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            authorization: `Bearer ${this.token}`,
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        lastCause = transportCause(error);
        continue;
      }
      let body: { data?: T | null; errors?: GraphQLErrorBody[] } | null = null;
      const text = await response.text().catch(() => '');
      try {
        body = text ? (JSON.parse(text) as { data?: T | null; errors?: GraphQLErrorBody[] }) : null;
      } catch {
        body = null;
      }
      const errors = body?.errors ?? [];
      const rateLimited = errors.some((e) => e.extensions?.code === 'RATE_LIMITED');
      if (response.status >= 500 && !errors.some((e) => e.extensions?.code && e.extensions.code !== 'INTERNAL_SERVER_ERROR') || rateLimited) {
        lastCause = rateLimited ? 'rate limited' : `HTTP ${response.status}`;
        continue;
      }
      if (errors.length) {
        const first = errors[0];
        throw new GraphQLRequestError(first.message, first.extensions?.code ?? null, errors);
      }
      if (!body || body.data === undefined || body.data === null) {
        throw new GraphQLRequestError(`The gateway answered HTTP ${response.status} without data`, null);
      }
      return body.data;
    }
    throw new GatewayUnavailableError(this.url, lastCause);
  }
}

function transportCause(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  if (e?.name === 'TimeoutError') return 'the request timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
