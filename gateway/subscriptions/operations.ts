import { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import { Identity } from '../../kernel/identity';
import { fromFormatted, Pipeline } from '../pipeline';
import { GatewayContext, GatewayRequest } from '../plugins/types';
import { released } from './caps';
import { SubscriptionEngine } from './engine';

/** What the WebSocket and SSE servers hand `execute`/`subscribe`: the caller, the request as sent, and its cap slot. */
export type OperationContext = GatewayContext & {
  request: GatewayRequest;
  release: () => void;
  // graphql-sse wants a record type for the operation context
  [key: PropertyKey]: unknown;
};

export const expired = (identity: Identity) => identity.expiresAt !== null && identity.expiresAt * 1000 <= Date.now();

/**
 * How both streaming transports run an operation: queries and mutations
 * through the gateway's pipeline as the caller, subscriptions through the
 * engine (the cap slot is given back when the subscription ends or is refused).
 */
export function operationHandlers(pipeline: Pipeline, engine: SubscriptionEngine) {
  return {
    execute: async (args: ExecutionArgs): Promise<ExecutionResult> => {
      const { request, identity, transport } = args.contextValue as OperationContext;
      const result = await pipeline.execute(request, { identity, transport });
      return { data: result.data, ...(result.errors ? { errors: result.errors.map(fromFormatted) } : {}) } as ExecutionResult;
    },
    subscribe: async (args: ExecutionArgs): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> => {
      const { identity, release } = args.contextValue as OperationContext;
      const outcome = await engine.subscribe(
        args.document,
        args.variableValues as Record<string, unknown> | undefined,
        identity,
        args.operationName,
      );
      if (!(Symbol.asyncIterator in outcome)) {
        release();
        return { errors: (outcome.errors ?? []).map((e) => pipeline.asError(e as GraphQLError)) };
      }
      return released(outcome, release);
    },
  };
}
