import type { Server } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Route } from '../http';
import { describeOperations, RequestHook, requestScope, ResponseListener } from '../request';

/**
 * A concern that watches a service (logs, metrics, traces), in the manner of
 * graphql-yoga's and Hive Gateway's `useX` plugins: one concern per file, a
 * factory returning the hooks it needs. Every hook is optional.
 */
export interface ServicePlugin {
  /** around each HTTP request, inside its request scope (currentRequest() is set) */
  onHttpRequest?: RequestHook;
  /** once per request, when its response is done; the record is complete */
  onResponse?: ResponseListener;
  /** for the GraphQL side of the service */
  apollo?: ApolloServerPlugin<BaseContext>;
  /** routes the concern serves itself (/metrics) */
  routes?: Route[];
  /** once the HTTP server listens */
  onListen?(server: Server): void;
}

/** What a server is given by its plugins: request hooks (request scope first), Apollo plugins, routes. */
export function assemblePlugins(plugins: readonly Omit<ServicePlugin, 'apollo'>[] | readonly ServicePlugin[]): {
  hooks: RequestHook[];
  apollo: ApolloServerPlugin<BaseContext>[];
  routes: Route[];
  listening(server: Server): void;
} {
  const listeners = plugins.flatMap((p) => (p.onResponse ? [p.onResponse] : []));
  return {
    hooks: [requestScope(listeners), ...plugins.flatMap((p) => (p.onHttpRequest ? [p.onHttpRequest] : []))],
    apollo: [describeOperations(), ...plugins.flatMap((p) => ('apollo' in p && p.apollo ? [p.apollo] : []))],
    routes: plugins.flatMap((p) => p.routes ?? []),
    listening: (server) => plugins.forEach((p) => p.onListen?.(server)),
  };
}
