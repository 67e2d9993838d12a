import type { MetricsAccess, ServiceMetrics } from '../../kernel/metrics';
import { useMetrics as useServiceMetrics } from '../../kernel/plugins/useMetrics';
import type { GatewayPlugin } from './types';

export interface GatewayGauges {
  /** active subscriptions (all transports) */
  subscriptions(): number;
  /** open WebSocket connections */
  websockets(): number;
}

/**
 * The gateway's metrics: requests, refusals and connections (kernel's
 * useMetrics), subgraph fetches by subgraph and outcome with their latency,
 * active subscriptions and WebSocket connections.
 */
export function useMetrics(metrics: ServiceMetrics, access: MetricsAccess, gauges: GatewayGauges): GatewayPlugin {
  const fetches = metrics.histogram(
    'cds_subgraph_fetch_duration_seconds',
    'Subgraph fetches by subgraph and outcome (ok, error, failed), with their latency',
    ['subgraph', 'outcome'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  );
  metrics.gauge('cds_active_subscriptions', 'Subscriptions being served (WebSocket and SSE)', () => gauges.subscriptions());
  metrics.gauge('cds_websocket_connections', 'Open graphql-transport-ws connections', () => gauges.websockets());
  return {
    name: 'useMetrics',
    ...useServiceMetrics(metrics, access),
    onSubgraphFetch({ subgraph }) {
      const end = fetches.startTimer({ subgraph });
      return (outcome) => void end({ outcome });
    },
  };
}
