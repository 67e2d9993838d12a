import { timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Route, sendJson } from './http';

/**
 * Prometheus metrics of one service. Each service (the gateway, each subgraph)
 * has its own Registry, so the dev stack, which runs all five in one process,
 * still serves five separate /metrics pages; every metric carries a `service`
 * label (a default label of its registry).
 *
 * Names: `cds_*`. Labels are bounded: an operation name is the caller's text,
 * so only the first MAX_OPERATION_LABELS distinct names get their own series,
 * later ones count as `other` (a client cannot grow the registry at will).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  /** GraphQL requests by operation name and outcome (ok, partial, error, refused); `_count` is the number of requests */
  readonly requests: Histogram<'operation' | 'outcome'>;
  /** requests refused before any work: rate limit, query limits, authentication, malformed requests */
  readonly refused: Counter<'reason'>;
  private readonly operations = new Set<string>();

  constructor(
    readonly service: string,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ service });
    this.requests = new Histogram({
      name: 'cds_graphql_request_duration_seconds',
      help: 'GraphQL requests by operation name and outcome (ok, partial, error, refused), with their latency',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [this.registry],
    });
    this.refused = new Counter({
      name: 'cds_refused_requests_total',
      help: 'Requests refused before any work, by reason (RATE_LIMITED, QUERY_TOO_COMPLEX, UNAUTHENTICATED, INVALID)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    // Process metrics (memory, event loop, GC) are the process's, not a service's: one registry per process collects them.
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The label for an operation name (bounded, see above). */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'other';
    this.operations.add(name);
    return name;
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return (
      (this.registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [this.registry] })
    );
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return (
      (this.registry.getSingleMetric(name) as Histogram<L> | undefined) ??
      new Histogram({ name, help, labelNames, buckets, registers: [this.registry] })
    );
  }

  /** A gauge whose value is read at scrape time (`read` returns one value, or one per label set). */
  gauge<L extends string>(
    name: string,
    help: string,
    read: () => Promise<number | [Partial<Record<L, string>>, number][]> | number | [Partial<Record<L, string>>, number][],
    labelNames: readonly L[] = [],
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const value = await read();
        this.reset();
        if (typeof value === 'number') this.set(value);
        else for (const [labels, n] of value) this.set(labels, n);
      },
    });
  }
}

const MAX_OPERATION_LABELS = 200;

export interface MetricsAccess {
  /** when set, /metrics answers only `Authorization: Bearer <token>` */
  token?: string;
  /** whether /metrics is served at all */
  enabled: boolean;
}

/**
 * `GET /metrics` in the Prometheus text format. Protection (README,
 * "Metrics"): with METRICS_TOKEN set, a scraper must send it as a bearer
 * token; in production (NODE_ENV=production) /metrics is off unless a token is
 * set, since the gateway's port is public and the figures tell an outsider
 * what the service does.
 */
export function metricsRoute(metrics: ServiceMetrics, access: MetricsAccess): Route {
  const expected = access.token ? Buffer.from(`Bearer ${access.token}`) : null;
  return async (req, res, url) => {
    if (url.pathname !== '/metrics' || !access.enabled) return false;
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        sendJson(res, 401, { error: 'A metrics token is required' }, { 'www-authenticate': 'Bearer' });
        return true;
      }
    }
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
    return true;
  };
}
