import { IncomingMessage } from 'node:http';
import { DocumentNode, ExecutionResult, GraphQLError, GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/http';
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

/** Server-Sent Events (graphql-sse, distinct connections mode) at `path`, for clients that cannot use WebSockets. */
export function sseRoute(path: string, options: TransportOptions): Route {
  const handler = createHandler<{ identity: Identity }>({
    schema: options.schema,
    context: async (req) => ({ identity: await options.verifier.verify(headerOf(req.raw)) }),
    onSubscribe: async (req) => {
      try {
        const identity = await options.verifier.verify(headerOf(req.raw));
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
