import { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { Pool } from 'undici';
import type { Identity } from '../kernel/identity';
import { componentLogger } from '../kernel/log';
import { classify, failedFetchResponse } from './subgraph-faults';

const log = componentLogger('subgraph-client');

/**
 * The gateway's HTTP client for its subgraphs: how every subgraph fetch of a
 * query plan leaves the gateway.
 *
 * It replaces @apollo/gateway's RemoteGraphQLDataSource and its default
 * fetcher (make-fetch-happen over agentkeepalive, plus a node-fetch Request
 * and Headers built per fetch only to be handed to hooks we do not use):
 * under load that stack was ~40% of the gateway's CPU. Here a fetch is one
 * `JSON.stringify`, one request on a pooled keep-alive undici connection, and
 * one `JSON.parse`; nothing allocates an Error (or its stack) unless
 * something failed.
 *
 * What a fetch goes through is a chain of small plugins, each one concern
 * (`SubgraphFetchPlugin`, like graphql-yoga's `onFetch`): in-flight
 * deduplication is one (`useInflightDedup`); timeouts or error attribution can
 * be others, added beside it.
 */

/** One subgraph fetch, as the plugins see it. */
export interface SubgraphFetch {
  /** the subgraph's name in the supergraph */
  subgraph: string;
  /** the JSON body: query, variables, operationName */
  body: string;
  /** the caller's own Authorization header (each subgraph verifies it again); none for the gateway's own fetches */
  authorization: string | undefined;
  /** the operation type of the subgraph operation (queries and `_entities` fetches are `query`) */
  operation: 'query' | 'mutation' | 'subscription';
  /** more headers to send (request id, traceparent: gateway/plugins/fetch.ts) */
  headers?: Readonly<Record<string, string>>;
}

/** What came back: the status and the body's text (parsed by each caller, so no two share objects). */
export interface SubgraphReply {
  status: number;
  statusText: string;
  contentType: string;
  text: string;
}

export type SubgraphSend = (fetch: SubgraphFetch) => Promise<SubgraphReply>;

/** Wraps the next step of the chain (a later plugin, then the HTTP request itself). */
export type SubgraphFetchPlugin = (next: SubgraphSend) => SubgraphSend;

/**
 * In-flight deduplication: while a fetch is under way, an identical one (same
 * subgraph, same query and variables, same Authorization) waits for its reply
 * instead of being sent again. Never across identities (the key holds the
 * caller's own Authorization header, so a reply only reaches the identity it
 * was computed for), never for mutations or subscriptions (each must run), and
 * only while the first is in flight: nothing is cached.
 */
export function useInflightDedup(): SubgraphFetchPlugin {
  return (next) => {
    const inflight = new Map<string, Promise<SubgraphReply>>();
    return (fetch) => {
      if (fetch.operation !== 'query') return next(fetch);
      const key = `${fetch.subgraph}\n${fetch.authorization ?? ''}\n${fetch.body}`;
      const running = inflight.get(key);
      if (running) return running;
      const sent = next(fetch);
      inflight.set(key, sent);
      const done = () => {
        inflight.delete(key);
      };
      sent.then(done, done);
      return sent;
    };
  };
}

/** The operation type of a subgraph operation, from its first keyword (the gateway prints them `query ...`, `mutation ...`). */
export function operationTypeOf(query: string): SubgraphFetch['operation'] {
  const keyword = /^\s*(query|mutation|subscription)\b/.exec(query)?.[1] as SubgraphFetch['operation'] | undefined;
  if (keyword) return keyword;
  // Anything not plainly a query is treated as a mutation: never deduplicated.
  return query.trimStart().startsWith('{') ? 'query' : 'mutation';
}

export interface SubgraphClientOptions {
  /** the subgraph's name in the supergraph */
  name: string;
  /** its /graphql URL */
  url: string;
  /** plugins, outermost first */
  plugins?: SubgraphFetchPlugin[];
  /** where its connections come from (the gateway's pools) */
  pools: SubgraphPools;
  /** how long a fetch may take before the subgraph's fields are answered as missing (SUBGRAPH_<NAME>_TIMEOUT_MS) */
  timeoutMs?: number;
}

/** What the client reads of the gateway's request context: the caller, whose token it forwards. */
export interface CallerContext {
  identity?: Pick<Identity, 'authorization'>;
}

type ProcessOptions = GraphQLDataSourceProcessOptions<CallerContext & Record<string, unknown>>;
type GatewayResponse = Awaited<ReturnType<GraphQLDataSource['process']>>;

/** One gateway's keep-alive connection pools, one per subgraph origin; closed when the gateway stops. */
export class SubgraphPools {
  private readonly pools = new Map<string, Pool>();
  constructor(private readonly connections = 64) {}

  for(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections, pipelining: 1, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((pool) => pool.close().catch(() => undefined)));
  }
}

export class SubgraphClient implements GraphQLDataSource<CallerContext & Record<string, unknown>> {
  readonly name: string;
  private readonly path: string;
  private readonly pool: Pool;
  private readonly send: SubgraphSend;
  private readonly timeoutMs: number;

  constructor(options: SubgraphClientOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const url = new URL(options.url);
    this.path = `${url.pathname}${url.search}`;
    this.pool = options.pools.for(url.origin);
    this.send = (options.plugins ?? []).reduceRight<SubgraphSend>(
      (next, plugin) => plugin(next),
      (fetch) => this.http(fetch),
    );
  }

  /**
   * A failed fetch (down, slower than the timeout, failing) answers with an
   * error on each field it asked for, naming the subgraph, instead of
   * throwing: the gateway serves everything else (gateway/subgraph-faults.ts).
   * A refusal the subgraph explained (errorFrom) stays what it is.
   */
  async process(options: ProcessOptions): Promise<GatewayResponse> {
    try {
      return await this.fetchOnce(options);
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions?.code && error.extensions.code !== 'INTERNAL_SERVER_ERROR') throw error;
      const reason = classify(error);
      log.warn({ subgraph: this.name, reason, err: error }, 'subgraph fetch failed; answering without its fields');
      return failedFetchResponse(this.name, reason, this.timeoutMs, options) as unknown as GatewayResponse;
    }
  }

  private async fetchOnce(options: ProcessOptions): Promise<GatewayResponse> {
    const { request } = options;
    if (!request.query) throw new Error(`Missing query for subgraph '${this.name}'`);
    const identity = (options.context as CallerContext | undefined)?.identity;
    const body = JSON.stringify({
      query: request.query,
      variables: request.variables,
      operationName: request.operationName,
      extensions: request.extensions,
    });
    const reply = await this.send({
      subgraph: this.name,
      body,
      authorization: identity?.authorization,
      operation: operationTypeOf(request.query),
    });
    const json = reply.contentType.startsWith('application/json') || reply.contentType.startsWith('application/graphql-response+json');
    if (reply.status < 200 || reply.status > 299) throw this.errorFrom(reply, json);
    if (!json) throw new Error(`Subgraph '${this.name}' answered ${reply.contentType || 'no content type'}, not JSON`);
    const parsed = JSON.parse(reply.text) as GatewayResponse | null;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error(`Subgraph '${this.name}' answered JSON that is not an object`);
    return parsed;
  }

  /** The HTTP request itself, last in the chain. */
  private async http(fetch: SubgraphFetch): Promise<SubgraphReply> {
    const headers: Record<string, string> = { ...fetch.headers, 'content-type': 'application/json', accept: 'application/json' };
    if (fetch.authorization) headers.authorization = fetch.authorization;
    // The timeout covers the answer's headers and body; on expiry the request is aborted and its connection freed.
    const response = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers,
      body: fetch.body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const contentType = response.headers['content-type'];
    return {
      status: response.statusCode,
      statusText: '',
      contentType: (Array.isArray(contentType) ? contentType[0] : contentType) ?? '',
      text: await response.body.text(),
    };
  }

  /**
   * A subgraph refuses a request it cannot even execute (a malformed DateTime
   * or SafeInt variable: the gateway's schema has no parsers for custom
   * scalars) with HTTP 400 and GraphQL errors; pass its first error on, code
   * and message, instead of a bare "400".
   */
  private errorFrom(reply: SubgraphReply, json: boolean): GraphQLError {
    let body: unknown = reply.text;
    if (json) {
      try {
        body = JSON.parse(reply.text);
      } catch {
        /* keep the text */
      }
    }
    const first = (body as { errors?: { message?: unknown; extensions?: { code?: unknown } }[] } | null)?.errors?.[0];
    if (typeof first?.message === 'string' && typeof first.extensions?.code === 'string') {
      return new GraphQLError(first.message, { extensions: { code: first.extensions.code } });
    }
    const code = reply.status === 401 ? 'UNAUTHENTICATED' : reply.status === 403 ? 'FORBIDDEN' : undefined;
    return new GraphQLError(`${reply.status}: ${reply.statusText || 'subgraph error'}`, {
      extensions: { ...(code ? { code } : {}), response: { url: `${this.name}${this.path}`, status: reply.status, body } },
    });
  }
}
