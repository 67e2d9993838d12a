import type { Logger } from '../../kernel/log';
import { useLogging as useServiceLogging } from '../../kernel/plugins/useLogging';
import { currentRequest, REQUEST_ID_HEADER } from '../../kernel/request';
import type { GatewayPlugin } from './types';

/**
 * The gateway's request log (one line per request, kernel/plugins/useLogging)
 * and the request id on every subgraph fetch, so each subgraph's line for
 * its part carries the same id. Failed fetches are logged at warn.
 */
export function useLogging(logger: Logger): GatewayPlugin {
  return {
    name: 'useLogging',
    ...useServiceLogging(logger),
    onSubgraphFetch({ subgraph, headers }) {
      const request = currentRequest();
      if (request) headers.set(REQUEST_ID_HEADER, request.id);
      return (outcome) => {
        if (outcome === 'failed') logger.warn({ subgraph }, 'subgraph fetch failed');
      };
    },
  };
}
