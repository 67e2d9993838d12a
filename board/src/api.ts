import { ClientError, GraphQLClient } from 'graphql-request';
import { Client as WsClient, createClient } from 'graphql-ws';

/** What went wrong, in words, with the contract's error code when the server gave one. */
export class BoardError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

const CODES_IN_WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'Your token was not accepted (missing, malformed or expired). Sign in again.',
  RATE_LIMITED: 'Too many requests; wait a moment and try again.',
};

/** Turns anything a request can throw into a BoardError whose message a person can act on. */
export function toBoardError(error: unknown): BoardError {
  if (error instanceof BoardError) return error;
  if (error instanceof ClientError) {
    const errors = error.response.errors ?? [];
    if (errors.length) {
      const code = (errors[0].extensions?.code as string | undefined) ?? null;
      const messages = [...new Set(errors.map((e) => e.message))];
      return new BoardError(messages.join(' '), code);
    }
    if (error.response.status === 401) return new BoardError(CODES_IN_WORDS.UNAUTHENTICATED, 'UNAUTHENTICATED');
    return new BoardError(`The server answered ${error.response.status}.`, null);
  }
  if (error instanceof TypeError) return new BoardError('The gateway cannot be reached. Check that it is running, then try again.', null);
  return new BoardError(error instanceof Error ? error.message : String(error), null);
}

export type Variables = Record<string, unknown>;

export interface Api {
  request<T>(document: string, variables?: Variables): Promise<T>;
  subscribe<T>(document: string, variables: Variables, onData: (data: T) => void, onError: (error: BoardError) => void): () => void;
  onLiveStatus(listener: (status: LiveStatus) => void): () => void;
  /** called each time the live connection is back after a drop (events meanwhile were missed: refetch) */
  onReconnect(listener: () => void): () => void;
  close(): void;
}

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

/** Same origin as the page: the gateway serves both the board and /graphql. */
function endpoints(): { http: string; ws: string } {
  const http = new URL('/graphql', window.location.href);
  const ws = new URL(http.href);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: http.href, ws: ws.href };
}

export function createApi(token: string, onUnauthenticated: () => void): Api {
  const { http, ws } = endpoints();
  const client = new GraphQLClient(http, { headers: { authorization: `Bearer ${token}` } });
  let status: LiveStatus = 'connecting';
  const listeners = new Set<(status: LiveStatus) => void>();
  const reconnectListeners = new Set<() => void>();
  let connectedBefore = false;
  const setStatus = (next: LiveStatus) => {
    status = next;
    for (const listener of listeners) listener(next);
  };
  const connected = () => {
    setStatus('live');
    if (connectedBefore) for (const listener of reconnectListeners) listener();
    connectedBefore = true;
  };
  let wsClient: WsClient | null = null;
  const socket = (): WsClient => {
    wsClient ??= createClient({
      url: ws,
      lazy: true,
      connectionParams: { authorization: `Bearer ${token}` },
      // A dropped connection (gateway restart, network change, laptop asleep) is retried for as long as the page is open,
      // with graphql-ws's randomised exponential back-off; every open subscription is sent again on reconnect.
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      on: {
        connected,
        closed: () => setStatus(status === 'live' ? 'reconnecting' : status),
        connecting: () => setStatus(status === 'live' ? 'reconnecting' : status),
      },
    });
    return wsClient;
  };
  return {
    async request<T>(document: string, variables?: Variables): Promise<T> {
      try {
        return await client.request<T>(document, variables);
      } catch (error) {
        const shaped = toBoardError(error);
        if (shaped.code === 'UNAUTHENTICATED') onUnauthenticated();
        throw shaped;
      }
    },
    subscribe<T>(document: string, variables: Variables, onData: (data: T) => void, onError: (error: BoardError) => void) {
      return socket().subscribe<T>(
        { query: document, variables },
        {
          next: (result) => {
            if (result.errors?.length)
              onError(
                new BoardError(
                  result.errors.map((e) => e.message).join(' '),
                  (result.errors[0].extensions?.code as string | undefined) ?? null,
                ),
              );
            else if (result.data) onData(result.data as T);
          },
          error: (error) =>
            onError(
              Array.isArray(error)
                ? new BoardError(error.map((e: { message: string }) => e.message).join(' '), null)
                : new BoardError('Live updates stopped; reload the page to resume.', null),
            ),
          complete: () => undefined,
        },
      );
    },
    onLiveStatus(listener) {
      listeners.add(listener);
      listener(status);
      return () => listeners.delete(listener);
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    close() {
      void wsClient?.dispose();
      wsClient = null;
    },
  };
}
