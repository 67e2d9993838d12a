import { context, propagation, Span, SpanKind, SpanStatusCode, trace, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Traces through OpenTelemetry, by hand rather than by auto-instrumentation
 * (which patches http, mysql2 and friends at require time and is brittle with
 * our bundling of several services in one process): one server span per HTTP
 * request (kernel/plugins/useTracing), @apollo/gateway's own spans (request,
 * plan, execute, one `gateway.fetch` per subgraph fetch) below it, W3C
 * `traceparent` on each subgraph fetch, and one span per SQL statement below
 * the subgraph's server span. Nothing is made unless a provider is installed:
 * with no exporter configured the OpenTelemetry API is a no-op.
 */

let installed: NodeTracerProvider | null = null;

/** Whether spans are being recorded in this process. */
export function tracingInstalled(): boolean {
  return installed !== null;
}

/** The project's tracer (looked up each time: a test may install a provider after modules load). */
export function tracer(): Tracer {
  return trace.getTracer('cds-graph');
}

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP endpoint (`http://collector:4318`, or a full `.../v1/traces` URL) */
  endpoint?: string;
  /** an exporter of one's own (tests: InMemorySpanExporter), fed span by span */
  exporter?: SpanExporter;
}

export interface TracingHandle {
  /** flushes what is buffered and stops recording */
  shutdown(): Promise<void>;
}

/**
 * Forgets the registered provider, context manager and propagator. Not
 * `trace.disable()`: that also swaps the API's proxy provider, and tracers
 * taken before (@apollo/gateway takes its own at load time) would stay on the
 * old proxy and record nothing ever again; removing the global entry, as the
 * API's own unregisterGlobal does, leaves them working.
 */
function resetGlobals(): void {
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  if (globals) delete globals.trace;
  context.disable();
  propagation.disable();
}

/** Installs the process's tracer provider; null (and nothing recorded) when neither an endpoint nor an exporter is given. */
export function installTracing(options: TracingOptions): TracingHandle | null {
  const processors: SpanProcessor[] = [];
  if (options.exporter) processors.push(new SimpleSpanProcessor(options.exporter));
  if (options.endpoint) {
    const url = /\/v1\/traces\/?$/.test(options.endpoint) ? options.endpoint : `${options.endpoint.replace(/\/+$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  if (!processors.length) return null;
  // The API's globals outlive a module registry (jest runs several files in one worker): start clean.
  resetGlobals();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: processors,
  });
  provider.register(); // AsyncLocalStorage context, W3C trace context + baggage propagation
  installed = provider;
  return {
    async shutdown() {
      await provider.shutdown();
      if (installed === provider) {
        installed = null;
        resetGlobals();
      }
    },
  };
}

/** Writes the current trace context (`traceparent`) into outgoing headers. */
export function injectTraceContext(headers: { set(name: string, value: string): void }): void {
  if (!installed) return;
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
}

/** Ends `span` with an error status when `error` is set. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

const wrapped = new WeakSet<QueryRunner>();

/**
 * One client span per SQL statement run inside a traced request (statements of
 * timers — outbox relay, consumers — outside any request make no spans). The
 * statement's text is recorded, never its parameters (personal data).
 */
export function traceStatements(db: DataSource): void {
  const driver = db.driver;
  const system = db.options.type === 'better-sqlite3' ? 'sqlite' : 'mysql';
  const create = driver.createQueryRunner.bind(driver);
  driver.createQueryRunner = (mode) => {
    const runner = create(mode);
    if (wrapped.has(runner)) return runner; // the SQLite driver hands out one runner again and again
    wrapped.add(runner);
    const query = runner.query.bind(runner) as (sql: string, parameters?: unknown[], structured?: boolean) => Promise<unknown>;
    runner.query = ((sql: string, parameters?: unknown[], structured?: boolean) => {
      if (!installed || !trace.getSpan(context.active())) return query(sql, parameters, structured);
      const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
      return tracer().startActiveSpan(
        `SQL ${verb}`,
        { kind: SpanKind.CLIENT, attributes: { 'db.system': system, 'db.operation': verb, 'db.statement': sql.slice(0, 2000) } },
        async (span) => {
          try {
            const result = await query(sql, parameters, structured);
            endSpan(span);
            return result;
          } catch (error) {
            endSpan(span, error);
            throw error;
          }
        },
      );
    }) as QueryRunner['query'];
    return runner;
  };
}
