import { context, propagation, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestRecord } from '../request';
import { currentRequest } from '../request';
import { tracer, tracingInstalled } from '../tracing';
import type { ServicePlugin } from './plugin';

/**
 * One server span per HTTP request, current while the request runs (so
 * @apollo/gateway's spans, subgraph fetches and SQL statements nest below it).
 * `trustIncoming`: continue the caller's trace from its `traceparent` (the
 * subgraphs, called by the gateway); the public gateway starts its own.
 */
export function useTracing(service: string, options: { trustIncoming: boolean }): ServicePlugin {
  const spans = new WeakMap<RequestRecord, Span>();
  return {
    onHttpRequest(req, _res, next) {
      const record = currentRequest();
      if (!tracingInstalled() || !record) return next();
      const parent = options.trustIncoming ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
      const span = tracer().startSpan(
        `${record.method} ${record.path}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'cds.service': service,
            'http.request.method': record.method,
            'url.path': record.path,
            'cds.request_id': record.id,
          },
        },
        parent,
      );
      spans.set(record, span);
      return context.with(trace.setSpan(parent, span), next);
    },
    onResponse(record) {
      const span = spans.get(record);
      if (!span) return;
      span.setAttribute('http.response.status_code', record.status ?? 0);
      if (record.graphql) {
        if (record.graphql.operationName) span.setAttribute('graphql.operation.name', record.graphql.operationName);
        if (record.graphql.operationType) span.setAttribute('graphql.operation.type', record.graphql.operationType);
        if (record.graphql.outcome) span.setAttribute('cds.outcome', record.graphql.outcome);
      }
      if ((record.status ?? 500) >= 500 || record.graphql?.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
