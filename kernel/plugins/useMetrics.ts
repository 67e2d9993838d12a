import type { MetricsAccess, ServiceMetrics } from '../metrics';
import { metricsRoute } from '../metrics';
import type { ServicePlugin } from './plugin';

const REFUSAL_REASONS = new Set(['RATE_LIMITED', 'QUERY_TOO_COMPLEX', 'UNAUTHENTICATED']);

/**
 * GraphQL requests by operation and outcome with their latency, refused
 * requests by reason, open HTTP connections, and the /metrics route.
 */
export function useMetrics(metrics: ServiceMetrics, access: MetricsAccess): ServicePlugin {
  let connections = 0;
  metrics.gauge(
    'cds_open_connections',
    'Open connections by transport (HTTP keep-alive and WebSocket sockets)',
    () => [[{ transport: 'http' }, connections]],
    ['transport'],
  );
  return {
    routes: [metricsRoute(metrics, access)],
    onListen(server) {
      server.on('connection', (socket) => {
        connections++;
        socket.once('close', () => connections--);
      });
    },
    onResponse(record) {
      const graphql = record.graphql;
      if (!graphql) {
        // Refused before GraphQL saw it: body too large, not JSON.
        if (record.path.endsWith('/graphql') && (record.status === 400 || record.status === 413))
          metrics.refused.inc({ reason: 'INVALID' });
        return;
      }
      const outcome = graphql.outcome ?? (record.completed ? 'error' : 'aborted');
      metrics.requests.observe({ operation: metrics.operationLabel(graphql.operationName), outcome }, (record.durationMs ?? 0) / 1000);
      if (outcome === 'refused') {
        const code = graphql.errorCodes?.[0] ?? '';
        metrics.refused.inc({ reason: REFUSAL_REASONS.has(code) ? code : 'INVALID' });
      }
    },
  };
}
