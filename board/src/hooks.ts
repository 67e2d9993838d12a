import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { Api, BoardError, toBoardError, Variables } from './api';
import { Session } from './session';

export interface BoardContext {
  api: Api;
  session: Session;
}

export const Board = createContext<BoardContext | null>(null);

export function useBoard(): BoardContext {
  const board = useContext(Board);
  if (!board) throw new Error('useBoard() outside a signed-in board');
  return board;
}

export interface QueryState<T> {
  data: T | null;
  error: BoardError | null;
  loading: boolean;
  refetch: () => Promise<void>;
  /** local updates (e.g. from a subscription) until the next fetch */
  setData: (update: (data: T) => T) => void;
}

/** Runs a query when its variables change; the latest answer wins (an older one arriving late is dropped). */
export function useQuery<T>(document: string, variables: Variables = {}): QueryState<T> {
  const { api } = useBoard();
  const [data, setDataState] = useState<T | null>(null);
  const [error, setError] = useState<BoardError | null>(null);
  const [loading, setLoading] = useState(true);
  const key = JSON.stringify(variables);
  const generation = useRef(0);
  const run = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const result = await api.request<T>(document, JSON.parse(key) as Variables);
      if (mine !== generation.current) return;
      setDataState(result);
      setError(null);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError(toBoardError(caught));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [api, document, key]);
  useEffect(() => {
    setDataState(null);
    void run();
  }, [run]);
  const setData = useCallback((update: (data: T) => T) => setDataState((current) => (current ? update(current) : current)), []);
  return { data, error, loading, refetch: run, setData };
}

export interface MutationState<T> {
  run: (variables: Variables) => Promise<T | null>;
  busy: boolean;
  error: BoardError | null;
  result: T | null;
  reset: () => void;
}

/** A mutation whose refusal (the contract's message) is kept to be shown next to the control that sent it. */
export function useMutation<T>(document: string): MutationState<T> {
  const { api } = useBoard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BoardError | null>(null);
  const [result, setResult] = useState<T | null>(null);
  const run = useCallback(
    async (variables: Variables) => {
      setBusy(true);
      setError(null);
      try {
        const answer = await api.request<T>(document, variables);
        setResult(answer);
        return answer;
      } catch (caught) {
        setError(toBoardError(caught));
        setResult(null);
        return null;
      } finally {
        setBusy(false);
      }
    },
    [api, document],
  );
  const reset = useCallback(() => {
    setError(null);
    setResult(null);
  }, []);
  return { run, busy, error, result, reset };
}

/** Keeps a subscription open while the component is mounted and its variables stay the same. */
export function useSubscription<T>(document: string, variables: Variables | null, onData: (data: T) => void): BoardError | null {
  const { api } = useBoard();
  const [error, setError] = useState<BoardError | null>(null);
  const handler = useRef(onData);
  handler.current = onData;
  const key = variables ? JSON.stringify(variables) : null;
  useEffect(() => {
    if (key === null) return undefined;
    setError(null);
    return api.subscribe<T>(document, JSON.parse(key) as Variables, (data) => handler.current(data), setError);
  }, [api, document, key]);
  return error;
}
