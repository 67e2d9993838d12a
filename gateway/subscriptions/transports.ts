import { IncomingMessage, ServerResponse } from 'node:http';
import { ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import { createHandler, OperationArgs } from 'graphql-sse';
import { readBody, Route } from '../../kernel/http';
import { Identity, TokenVerifier } from '../../kernel/identity';
import { Pipeline } from '../pipeline';
import { GatewayRequest } from '../plugins/types';
import { SubscriptionCaps } from './caps';
import { SubscriptionEngine } from './engine';
import { expired, OperationContext, operationHandlers } from './operations';

export interface SseOptions {
  schema: GraphQLSchema;
  pipeline: Pipeline;
  engine: SubscriptionEngine;
  verifier: TokenVerifier;
  caps: SubscriptionCaps;
  /** the same body limit as HTTP (413 above) */
  maxBodyBytes: number;
}

type Refusal = [string, { status: number; statusText: string; headers: Record<string, string> }];
function refusal(errors: readonly GraphQLError[]): Refusal {
  const code = String(errors[0]?.extensions?.code ?? 'BAD_USER_INPUT');
  const status = code === 'UNAUTHENTICATED' ? 401 : code === 'RATE_LIMITED' ? 429 : 400;
  return [
    JSON.stringify({ errors: errors.map((e) => e.toJSON()) }),
    {
      status,
      statusText: status === 401 ? 'Unauthorized' : status === 429 ? 'Too Many Requests' : 'Bad Request',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  ];
}

/**
 * Server-Sent Events (graphql-sse) at `path`, for clients that cannot use
 * WebSockets: every operation as the caller of its Authorization header,
 * through the gateway's pipeline like HTTP and WebSocket ones. graphql-sse's
 * core handler is used with our own node:http adapter because the library's
 * adapter reads the request body without any bound; ours stops at the HTTP
 * body limit (413).
 */
export function sseRoute(path: string, options: SseOptions): Route {
  const { pipeline, engine, caps } = options;
  const handler = createHandler<IncomingMessage, { res: ServerResponse }, OperationContext>({
    schema: options.schema,
    // Subscriptions were validated by the pipeline (admit); Apollo validates queries and mutations.
    validate: () => [],
    onSubscribe: async (req, params): Promise<Refusal | OperationArgs<OperationContext>> => {
      const header = req.raw.headers.authorization;
      let identity: Identity;
      try {
        identity = await options.verifier.verify(typeof header === 'string' ? header : null);
        if (expired(identity)) throw new GraphQLError('The token has expired', { extensions: { code: 'UNAUTHENTICATED' } });
      } catch (error) {
        const message = error instanceof GraphQLError ? error.message : 'A valid bearer token is required';
        return refusal([new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } })]);
      }
      const request: GatewayRequest = { query: params.query as string, variables: params.variables, operationName: params.operationName };
      const context = { identity, transport: 'sse' as const };
      const parsed = pipeline.parse(request);
      if ('errors' in parsed) return refusal(parsed.errors);
      let release = () => undefined as void;
      let document = parsed.document;
      if (parsed.operation?.operation === 'subscription') {
        const held = caps.reserve(req.raw, 'sse', identity);
        if (typeof held === 'string') return refusal([new GraphQLError(held, { extensions: { code: 'RATE_LIMITED' } })]);
        const admitted = await pipeline.admit(request, context);
        if ('errors' in admitted) {
          held();
          return refusal(admitted.errors);
        }
        document = admitted.document;
        release = held;
      }
      const args: ExecutionArgs = {
        schema: options.schema,
        document,
        variableValues: params.variables,
        operationName: params.operationName,
        contextValue: { ...context, request, release },
      };
      return args as OperationArgs<OperationContext>;
    },
    ...operationHandlers(pipeline, engine),
    onComplete: (ctx) => ctx.release(),
  });

  return async (req, res, url) => {
    if (url.pathname !== path) return false;
    const body = req.method === 'POST' ? await readBody(req, options.maxBodyBytes) : undefined;
    const [stream, init] = await handler({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: {
        get: (key: string) => {
          const value = req.headers[key];
          return Array.isArray(value) ? value.join('\n') : value;
        },
      },
      body: body ?? null,
      raw: req,
      context: { res },
    });
    res.writeHead(init.status, init.statusText, init.headers);
    if (!stream || typeof stream === 'string') {
      res.end(stream);
      return true;
    }
    const stop = () => void stream.return?.(undefined);
    res.once('close', stop);
    for await (const chunk of stream) {
      if (!res.writable) break;
      const closed = await new Promise<boolean>((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve(false))));
      if (closed) break;
    }
    res.off('close', stop);
    res.end();
    return true;
  };
}
