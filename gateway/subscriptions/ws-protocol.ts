import { IncomingMessage, Server } from 'node:http';
import { DocumentNode, ExecutionResult, GraphQLError, Kind, OperationDefinitionNode, parse } from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';
import { DomainError } from '../../kernel/errors';
import { Identity, TokenVerifier } from '../../kernel/identity';
import { serializedResult } from './engine';

/**
 * The graphql-transport-ws protocol (the graphql-ws library's), served by the
 * gateway itself rather than by graphql-ws's server: subscription payloads
 * are serialised once per subscriber group (engine.ts) and each subscriber's
 * message is built around that text, which keeps 1,000 subscribers of one
 * migration cheap. The tests talk to it with the graphql-ws client.
 * https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
 */
export const PROTOCOL = 'graphql-transport-ws';

type Subscribe = (document: DocumentNode, variables: Record<string, unknown> | null | undefined, identity: Identity, operationName?: string | null) =>
  Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;

export interface WsProtocolOptions {
  verifier: TokenVerifier;
  subscribe: Subscribe;
  execute: (document: DocumentNode, variables: Record<string, unknown> | null | undefined, identity: Identity, operationName?: string | null) => Promise<ExecutionResult>;
  connectionInitWaitMs?: number;
}

interface Message { type?: unknown; id?: unknown; payload?: unknown }

const closeCodes = {
  badRequest: 4400, unauthorized: 4401, forbidden: 4403, timeout: 4408, duplicate: 4409, tooManyInits: 4429,
} as const;

function nextMessage(id: string, result: ExecutionResult): string {
  const text = serializedResult(result) ?? JSON.stringify(result);
  return `{"id":${JSON.stringify(id)},"type":"next","payload":${text}}`;
}

export function attachWsProtocol(server: Server, path: string, options: WsProtocolOptions): { close(): Promise<void>; connections(): number } {
  const wss = new WebSocketServer({
    server, path,
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => serve(socket, request, options));
  return {
    connections: () => wss.clients.size,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function serve(socket: WebSocket, _request: IncomingMessage, options: WsProtocolOptions): void {
  if (socket.protocol !== PROTOCOL) {
    socket.close(4406, 'Subprotocol not acceptable');
    return;
  }
  let identity: Identity | null = null;
  let initialised = false;
  const operations = new Map<string, AsyncIterableIterator<ExecutionResult> | null>();
  const send = (text: string) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(text);
  };
  const initTimer = setTimeout(() => {
    if (!initialised) socket.close(closeCodes.timeout, 'Connection initialisation timeout');
  }, options.connectionInitWaitMs ?? 3000);

  socket.on('close', () => {
    clearTimeout(initTimer);
    for (const iterator of operations.values()) void iterator?.return?.();
    operations.clear();
  });

  socket.on('message', async (raw: WebSocket.RawData) => {
    let message: Message;
    try {
      message = JSON.parse(raw.toString()) as Message;
    } catch {
      socket.close(closeCodes.badRequest, 'Invalid message received');
      return;
    }
    switch (message.type) {
      case 'connection_init': {
        if (initialised) {
          socket.close(closeCodes.tooManyInits, 'Too many initialisation requests');
          return;
        }
        initialised = true;
        clearTimeout(initTimer);
        const payload = (message.payload ?? {}) as Record<string, unknown>;
        const authorization = payload.authorization ?? payload.Authorization;
        try {
          identity = await options.verifier.verify(typeof authorization === 'string' ? authorization : null);
        } catch {
          socket.close(closeCodes.forbidden, 'Forbidden');
          return;
        }
        send('{"type":"connection_ack"}');
        return;
      }
      case 'ping':
        send(message.payload === undefined ? '{"type":"pong"}' : JSON.stringify({ type: 'pong', payload: message.payload }));
        return;
      case 'pong':
        return;
      case 'subscribe':
        void subscribe(message);
        return;
      case 'complete': {
        const id = String(message.id ?? '');
        const iterator = operations.get(id);
        operations.delete(id);
        void iterator?.return?.();
        return;
      }
      default:
        socket.close(closeCodes.badRequest, `Invalid message type: ${String(message.type)}`);
    }
  });

  async function subscribe(message: Message): Promise<void> {
    if (!identity) {
      socket.close(closeCodes.unauthorized, 'Unauthorized');
      return;
    }
    const id = typeof message.id === 'string' ? message.id : '';
    const payload = message.payload as { query?: unknown; variables?: Record<string, unknown> | null; operationName?: string | null } | undefined;
    if (!id || typeof payload?.query !== 'string') {
      socket.close(closeCodes.badRequest, 'Invalid subscribe message');
      return;
    }
    if (operations.has(id)) {
      socket.close(closeCodes.duplicate, `Subscriber for ${id} already exists`);
      return;
    }
    operations.set(id, null);
    const fail = (errors: readonly GraphQLError[]) => {
      operations.delete(id);
      send(JSON.stringify({ id, type: 'error', payload: errors.map((e) => e.toJSON()) }));
    };
    if (identity.expiresAt !== null && identity.expiresAt * 1000 <= Date.now()) return fail([new DomainError('UNAUTHENTICATED', 'The token has expired')]);
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      return fail([new DomainError('BAD_USER_INPUT', (error as Error).message)]);
    }
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION
      && (!payload.operationName || d.name?.value === payload.operationName));
    if (operation && operation.operation !== 'subscription') {
      const result = await options.execute(document, payload.variables, identity, payload.operationName);
      if (!operations.has(id)) return;
      send(nextMessage(id, result));
      send(JSON.stringify({ id, type: 'complete' }));
      operations.delete(id);
      return;
    }
    const outcome = await options.subscribe(document, payload.variables, identity, payload.operationName);
    if (!operations.has(id)) {
      // The client completed (or went away) while we were authorising.
      if (Symbol.asyncIterator in outcome) void outcome.return?.();
      return;
    }
    if (!(Symbol.asyncIterator in outcome)) return fail(outcome.errors ?? []);
    operations.set(id, outcome);
    for await (const result of outcome) {
      if (!operations.has(id)) break;
      send(nextMessage(id, result));
    }
    if (operations.delete(id)) send(JSON.stringify({ id, type: 'complete' }));
  }
}
