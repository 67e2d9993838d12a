/**
 * Riding out transient trouble (issue 9): a restarting gateway or subgraph,
 * a refused connection, a timeout, a 5xx or RATE_LIMITED answer. Each call is
 * retried with exponential backoff and full jitter until `retryForMs` has
 * passed since its trouble began; meanwhile `onWaiting` tells the progress
 * display why the agent waits, and `onRecovered` that it goes on.
 */
export interface RetryPolicy {
  /** How long one call keeps retrying before the agent gives up (default 2 minutes). */
  retryForMs: number;
  /** First backoff; doubles per attempt up to maxDelayMs, each delay drawn at random below it (full jitter). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onWaiting?: (cause: string, giveUpAt: number) => void;
  onRecovered?: () => void;
}

/** A failure worth retrying, with the cause in words. */
export class TransientError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TransientError';
  }
}

export const DEFAULT_RETRY_MS = 120_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Retrier {
  private readonly base: number;
  private readonly max: number;
  private waiting = 0;

  constructor(readonly policy: RetryPolicy) {
    this.base = policy.baseDelayMs ?? 250;
    this.max = policy.maxDelayMs ?? 5_000;
  }

  /**
   * Runs `attempt` until it answers or throws something other than a
   * TransientError; a TransientError past the deadline is thrown as
   * `giveUp(cause)`.
   */
  async run<T>(attempt: () => Promise<T>, giveUp: (cause: string) => Error): Promise<T> {
    let deadline = 0;
    for (let n = 0; ; n++) {
      try {
        const result = await attempt();
        if (deadline) this.recovered();
        return result;
      } catch (error) {
        if (!(error instanceof TransientError)) {
          if (deadline) this.recovered();
          throw error;
        }
        const now = Date.now();
        if (!deadline) {
          deadline = now + this.policy.retryForMs;
          this.waiting += 1;
        }
        if (now >= deadline) {
          this.recovered();
          throw giveUp(error.reason);
        }
        this.policy.onWaiting?.(error.reason, deadline);
        const cap = Math.min(this.max, this.base * 2 ** Math.min(n, 16));
        await sleep(Math.min(deadline - now, Math.max(50, Math.random() * cap)));
      }
    }
  }

  private recovered(): void {
    this.waiting = Math.max(0, this.waiting - 1);
    if (this.waiting === 0) this.policy.onRecovered?.();
  }
}

/** Words for a failed fetch or http request: "ECONNREFUSED", "the request timed out". */
export function transportCause(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  if (e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT') return 'the request timed out';
  return e?.cause?.code ?? e?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
