/**
 * Graceful shutdown (docs/operations.md). On SIGTERM or SIGINT a service stops
 * accepting, drains what is in flight, flushes its outbox and closes its
 * databases, all within SHUTDOWN_TIMEOUT_MS; past the deadline it exits
 * anyway (code 1), and a second signal exits at once. Apollo Server's own
 * signal handlers are off (`stopOnTerminationSignals: false`), so nothing ends
 * the process before this has run.
 */
export interface ShutdownOptions {
  name: string;
  timeoutMs: number;
  /** what runs on the signal, given the time it has */
  stop(timeoutMs: number): Promise<void>;
  /** for tests: what ends the process */
  exit?: (code: number) => void;
  log?: (message: string) => void;
}

export function stopOnTerminationSignals(options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = options.log ?? ((message: string) => console.warn(message));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`[${options.name}] ${signal} again: exiting now`);
      exit(1);
      return;
    }
    stopping = true;
    log(`[${options.name}] ${signal}: draining (at most ${options.timeoutMs} ms)`);
    const started = Date.now();
    const deadline = setTimeout(() => {
      log(`[${options.name}] shutdown did not finish within ${options.timeoutMs} ms; exiting`);
      exit(1);
    }, options.timeoutMs);
    deadline.unref();
    // The drain gets most of the budget; the rest is for flushing and closing.
    options.stop(Math.max(0, Math.floor(options.timeoutMs * 0.8))).then(
      () => {
        clearTimeout(deadline);
        log(`[${options.name}] stopped cleanly in ${Date.now() - started} ms`);
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        log(`[${options.name}] shutdown failed: ${String((error as Error)?.message ?? error)}`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
