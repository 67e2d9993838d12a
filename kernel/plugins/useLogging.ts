import type { Logger } from '../log';
import type { ServicePlugin } from './plugin';

/** Paths asked by probes and scrapers every few seconds: logged at debug only. */
const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

/**
 * One JSON line per request: request id, method, path (never its query
 * string), status, milliseconds and, for GraphQL, the operation's name, type,
 * outcome and error codes. Never variables, headers or tokens.
 */
export function useLogging(logger: Logger): ServicePlugin {
  return {
    onResponse(record) {
      const level = (record.status ?? 500) >= 500 ? 'error' : QUIET_PATHS.has(record.path) ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const graphql = record.graphql;
      logger[level](
        {
          requestId: record.id,
          method: record.method,
          path: record.path,
          status: record.status,
          ms: Math.round((record.durationMs ?? 0) * 10) / 10,
          ...(record.completed ? {} : { aborted: true }),
          ...(graphql
            ? {
                operation: graphql.operationName,
                type: graphql.operationType,
                outcome: graphql.outcome,
                ...(graphql.errorCodes?.length ? { errors: graphql.errorCodes } : {}),
              }
            : {}),
        },
        'request',
      );
    },
  };
}
