import { createClient as createWsClient, Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received<T> {
  results: T[];
  errors: unknown[];
  completed: boolean;
  closed: { code: number; reason: string } | null;
  dispose(): Promise<void>;
  /** resolves when `predicate` holds for the results so far (or rejects after timeoutMs) */
  until(predicate: (results: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
}

/** Subscribes over graphql-ws (the contract's transport) and records what arrives. */
export function subscribeWs<T>(gatewayUrl: string, token: string | null, query: string, variables: Record<string, unknown>): Received<T> {
  const received: Received<T> = {
    results: [],
    errors: [],
    completed: false,
    closed: null,
    dispose: async () => {
      unsubscribe();
      await client.dispose();
    },
    until: (predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          if (predicate(received.results)) return resolve(received.results);
          if (received.completed || received.errors.length)
            return predicate(received.results)
              ? resolve(received.results)
              : reject(new Error(`subscription ended: ${JSON.stringify({ errors: received.errors, results: received.results })}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out; received ${JSON.stringify(received.results)}`));
          setTimeout(check, 20);
        };
        check();
      }),
  };
  const client: WsClient = createWsClient({
    url: gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined, // recorded through `closed` instead
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        received.closed = { code: e.code, reason: e.reason };
      },
    },
  });
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) received.errors.push(...value.errors);
        if (value.data) received.results.push(value.data as T);
      },
      error: (error) => received.errors.push(error),
      complete: () => {
        received.completed = true;
      },
    },
  );
  return received;
}
