/**
 * Readiness that tells the truth: `/ready` runs every check a service depends
 * on (a subgraph: its database and the event bus; the gateway: each subgraph
 * and the bus) and answers 200 only when all pass, 503 otherwise, with each
 * check in the body. A service that is shutting down is not ready, so a load
 * balancer stops sending it work while it drains.
 */
export type ReadinessCheck = () => Promise<unknown>;

export interface CheckResult {
  ok: boolean;
  ms: number;
  /** why it failed (left out in production, where /ready may be public) */
  error?: string;
}

export interface ReadinessReport {
  status: 'ready' | 'not ready' | 'shutting down';
  checks: Record<string, CheckResult>;
}

export class Readiness {
  private draining = false;

  constructor(
    private readonly checks: Record<string, ReadinessCheck>,
    private readonly timeoutMs = 2_000,
    private readonly showErrors = process.env.NODE_ENV !== 'production',
  ) {}

  /** From now on the service reports itself not ready (graceful shutdown). */
  markDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
            }),
          ]);
          return [name, { ok: true, ms: Date.now() - started }];
        } catch (error) {
          const result: CheckResult = { ok: false, ms: Date.now() - started };
          if (this.showErrors) result.error = String((error as Error)?.message ?? error).slice(0, 200);
          return [name, result];
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, result]) => result.ok);
    return { status: this.draining ? 'shutting down' : ok ? 'ready' : 'not ready', checks };
  }
}

/** A check that another service's /ready answers 200. */
export const httpReady =
  (url: string, timeoutMs = 2_000): ReadinessCheck =>
  async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  };
