import { AgentError } from './errors';
import { DEFAULT_RETRY_MS, Retrier, TransientError, transportCause } from './retry';

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

/** What the errors of a refused operation say under `extensions[key]` (a list or one string), as strings; [] for any other error. */
export function extensionValues(error: unknown, key: string): string[] {
  if (!(error instanceof GraphQLRequestError)) return [];
  return error.errors.flatMap((e) => {
    const value = e.extensions?.[key];
    return Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : [];
  });
}

/** Between asking again while CDS says its work is still under way (each ask itself waits CDS_STORE_WAIT_MS there). */
const UNDER_WAY_PAUSE_MS = 250;

/**
 * Runs `attempt` again for as long as CDS answers that the work it needs is
 * still under way: a CONFLICT whose extensions carry `key` (`verifying`: the
 * objects of a report CDS is still reading back; `completing`: a multipart
 * upload the store is still assembling). CDS goes on meanwhile, so each ask
 * gets nearer; `onWaiting` hears what it is waiting for.
 */
export async function whileUnderWay<T>(
  key: 'verifying' | 'completing',
  attempt: () => Promise<T>,
  onWaiting?: (what: string[]) => void,
): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const what = extensionValues(error, key);
      if (!what.length) throw error;
      onWaiting?.(what);
      await new Promise((resolve) => setTimeout(resolve, UNDER_WAY_PAUSE_MS));
    }
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
  /** Per-request timeout. */
  timeoutMs?: number;
  /** How transient failures are retried (shared with the uploads, so the display shows one waiting state). */
  retrier?: Retrier;
}

/**
 * A minimal GraphQL-over-HTTP client on Node's fetch: POST JSON with the PBX's
 * bearer token. Retries what is worth retrying (the network, a restarting
 * gateway or subgraph, rate limiting) for the retrier's time; every command
 * the agent sends is idempotent or checked by the caller after a retry, so a
 * lost answer does no harm.
 */
export class GraphQLClient {
  private readonly timeoutMs: number;
  readonly retrier: Retrier;

  constructor(
    readonly url: string,
    private readonly token: string,
    options: GraphQLClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.retrier = options.retrier ?? new Retrier({ retryForMs: DEFAULT_RETRY_MS });
  }

  /** The bearer token, for the agent's other requests to the gateway (uploads). */
  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  /** Runs an operation and answers its data; throws GraphQLRequestError when the answer carries errors. */
  request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.retrier.run(
      () => this.once<T>(query, variables),
      (cause) => new GatewayUnavailableError(this.url, cause),
    );
  }

  private async once<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: this.authorization,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new TransientError(transportCause(error));
    }
    let body: { data?: T | null; errors?: GraphQLErrorBody[] } | null;
    const text = await response.text().catch(() => '');
    try {
      body = text ? (JSON.parse(text) as { data?: T | null; errors?: GraphQLErrorBody[] }) : null;
    } catch {
      body = null;
    }
    const errors = body?.errors ?? [];
    const codes = errors.map((e) => e.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
    if (codes.includes('RATE_LIMITED')) throw new TransientError('rate limited');
    // A 5xx, or nothing but internal errors and no data (a subgraph restarting behind the gateway): worth another try.
    if (response.status >= 500 && codes.every((c) => c === 'INTERNAL_SERVER_ERROR')) throw new TransientError(`HTTP ${response.status}`);
    if (errors.length && !body?.data && codes.every((c) => c === 'INTERNAL_SERVER_ERROR')) {
      throw new TransientError(`the gateway answered: ${errors[0].message}`);
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
}
