import { IncomingMessage, Server } from 'node:http';
import { DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema, parse } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { DomainError } from '../../kernel/errors';
import { Identity, TokenVerifier } from '../../kernel/identity';
import { Route } from '../../kernel/http';
import { SubscriptionEngine } from './engine';

/** Runs a query or mutation through the gateway (for operations sent over a subscription transport). */
export type ExecuteOperation = (document: DocumentNode, variables: Record<string, unknown> | null | undefined, identity: Identity, operationName?: string | null) => Promise<ExecutionResult>;

interface TransportOptions {
  schema: GraphQLSchema;
  engine: SubscriptionEngine;
  verifier: TokenVerifier;
  executeOperation: ExecuteOperation;
}

const expired = (identity: Identity) => identity.expiresAt !== null && identity.expiresAt * 1000 <= Date.now();

/**
 * graphql-ws (`graphql-transport-ws`) at `path` on the gateway's HTTP server.
 * Identity: `connection_init` payload `{ authorization: "Bearer <JWT>" }`,
 * checked at connection and again on every subscribe.
 */
export function attachWebSocketTransport(server: Server, path: string, options: TransportOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path });
  const identities = new WeakMap<object, Identity>();
  const cleanup = useServer<Record<string, unknown>>({
    schema: options.schema,
    onConnect: (ctx) => {
      try {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        identities.set(ctx, options.verifier.verify(typeof authorization === 'string' ? authorization : null));
        return true;
      } catch {
        return false; // closes with 4403 Forbidden
      }
    },
    onSubscribe: (ctx, _id, payload) => {
      const identity = identities.get(ctx);
      if (!identity) return [new DomainError('UNAUTHENTICATED', 'Send { "authorization": "Bearer <JWT>" } in connection_init')];
      if (expired(identity)) return [new DomainError('UNAUTHENTICATED', 'The token has expired')];
      let document: DocumentNode;
      try {
        document = parse(payload.query);
      } catch (error) {
        return [new DomainError('BAD_USER_INPUT', (error as GraphQLError).message)];
      }
      return { schema: options.schema, document, variableValues: payload.variables ?? {}, operationName: payload.operationName, contextValue: { identity } };
    },
    subscribe: (args) => options.engine.subscribe(args.document, args.variableValues, (args.contextValue as { identity: Identity }).identity, args.operationName),
    execute: (args) => options.executeOperation(args.document, args.variableValues, (args.contextValue as { identity: Identity }).identity, args.operationName),
  }, wss);
  return {
    close: async () => {
      await cleanup.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Server-Sent Events (graphql-sse, distinct connections mode) at `path`, for clients that cannot use WebSockets. */
export function sseRoute(path: string, options: TransportOptions): Route {
  const handler = createHandler<{ identity: Identity }>({
    schema: options.schema,
    context: (req) => ({ identity: options.verifier.verify(headerOf(req.raw)) }),
    onSubscribe: (req) => {
      try {
        const identity = options.verifier.verify(headerOf(req.raw));
        if (expired(identity)) throw new Error('expired');
      } catch (error) {
        const message = error instanceof GraphQLError ? error.message : 'A valid bearer token is required';
        return [JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }), { status: 401, statusText: 'Unauthorized', headers: { 'content-type': 'application/json' } }];
      }
    },
    subscribe: (args) => options.engine.subscribe(args.document, args.variableValues, args.contextValue.identity, args.operationName),
    execute: (args) => options.executeOperation(args.document, args.variableValues, args.contextValue.identity, args.operationName),
  });
  return async (req, res, url) => {
    if (url.pathname !== path) return false;
    await handler(req, res);
    return true;
  };
}

function headerOf(req: IncomingMessage): string | null {
  const value = req.headers.authorization;
  return typeof value === 'string' ? value : null;
}
