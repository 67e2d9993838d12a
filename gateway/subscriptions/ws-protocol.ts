import { IncomingMessage, Server } from 'node:http';
import { ExecutionArgs, GraphQLError } from 'graphql';
import { Context as WsContext, SubscribePayload } from 'graphql-ws';
import type { useServer as UseServer } from 'graphql-ws/dist/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { DomainError } from '../../kernel/errors';
import { Identity, TokenVerifier } from '../../kernel/identity';
import { Pipeline } from '../pipeline';
import { GatewayRequest } from '../plugins/types';
import { SubscriptionEngine } from './engine';
import { expired, OperationContext, operationHandlers } from './operations';
import { SubscriptionCaps } from './caps';

// graphql-ws publishes its ws binding only through package "exports", which this project's
// TypeScript resolution (node10, CommonJS) does not read: the types come from the file, the code from the export.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as { useServer: typeof UseServer };

/** The protocol of the graphql-ws library (graphql-transport-ws), served by graphql-ws's own server. */
export const PROTOCOL = 'graphql-transport-ws';

export interface WebSocketOptions {
  pipeline: Pipeline;
  engine: SubscriptionEngine;
  verifier: TokenVerifier;
  /** largest message (ws maxPayload): a bigger one closes the socket with 1009 */
  maxPayloadBytes: number;
  /** ping interval; a socket that does not answer within it is terminated */
  keepAliveMs: number;
  caps: SubscriptionCaps;
  /** unsent bytes over which a socket is closed (a client that does not read) */
  maxBufferedBytes: number;
  connectionInitWaitMs?: number;
}

type Extra = { socket: WebSocket; request: IncomingMessage };
type Ctx = WsContext<Record<string, unknown>, Extra>;
/**
 * Subscriptions, queries and mutations over WebSocket at `path`, through
 * graphql-ws's `useServer` with the project's subscription engine behind it.
 * Every operation runs as the caller whose token came in `connection_init`,
 * through the gateway's pipeline (limits, rate limit, error shaping);
 * queries and mutations through Apollo like HTTP ones.
 */
export function attachWebSocket(
  server: Server,
  path: string,
  options: WebSocketOptions,
): { close(reason?: string): Promise<void>; connections(): number } {
  const { pipeline, engine, caps } = options;
  const wss = new WebSocketServer({ server, path, maxPayload: options.maxPayloadBytes });
  const identities = new WeakMap<Ctx, Identity>();

  const served = useServer<Record<string, unknown>, Extra>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitMs ?? 3000,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          identities.set(ctx, await options.verifier.verify(typeof authorization === 'string' ? authorization : null));
          return true;
        } catch {
          return false; // 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, id, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const identity = identities.get(ctx);
        if (!identity) return [new DomainError('UNAUTHENTICATED', 'A valid bearer token is required')];
        if (expired(identity)) return [new DomainError('UNAUTHENTICATED', 'The token has expired; connect again with a new one')];
        const request: GatewayRequest = { query: payload.query, variables: payload.variables, operationName: payload.operationName };
        const context = { identity, transport: 'websocket' as const };
        const parsed = pipeline.parse(request);
        if ('errors' in parsed) return parsed.errors;
        let release = () => undefined as void;
        let document = parsed.document;
        if (parsed.operation?.operation === 'subscription') {
          const held = caps.reserve(ctx, id, identity);
          if (typeof held === 'string') return [new DomainError('RATE_LIMITED', held)];
          const admitted = await pipeline.admit(request, context);
          if ('errors' in admitted) {
            held();
            return admitted.errors;
          }
          document = admitted.document;
          release = held;
        }
        // Queries and mutations (and documents Apollo must refuse) go to Apollo with the text as sent.
        const contextValue: OperationContext = { ...context, request, release };
        return {
          schema: engine.schema,
          document,
          variableValues: payload.variables ?? {},
          operationName: payload.operationName,
          contextValue,
        };
      },
      ...operationHandlers(pipeline, engine),
      onNext: (ctx) => {
        // Backpressure: the engine keeps at most a few results per subscriber (latest wins);
        // a socket that still cannot take them is closed rather than buffered without bound.
        const socket = ctx.extra.socket;
        if (socket.bufferedAmount > options.maxBufferedBytes) socket.close(1013, 'The client does not read its messages; reconnect');
      },
      onComplete: (ctx, id) => caps.release(ctx, id),
      onClose: (ctx) => caps.releaseAll(ctx),
    },
    wss,
    options.keepAliveMs,
  );
  return {
    connections: () => wss.clients.size,
    /** Without a reason, at once; with one (graceful shutdown), each socket closes with 1001 Going Away and the reason, cut after a second. */
    close: async (reason?: string) => {
      await Promise.all(
        [...wss.clients].map(
          (client) =>
            new Promise<void>((resolve) => {
              if (!reason) {
                client.terminate();
                return resolve();
              }
              const cut = setTimeout(() => {
                client.terminate();
                resolve();
              }, 1_000);
              client.once('close', () => {
                clearTimeout(cut);
                resolve();
              });
              client.close(1001, reason.slice(0, 120));
            }),
        ),
      );
      await Promise.resolve(served.dispose()).catch(() => undefined);
    },
  };
}
