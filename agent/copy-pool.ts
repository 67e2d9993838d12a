import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ObjectStore } from '../kernel/objectstore/store';
import { Copier, CopyOutcome } from './copy';
import { AgentError, SourceFileError, StoreError } from './errors';
import { SourceItem } from './scan';

/** What each copy thread is started with: it opens its own store from the same configuration. */
export interface CopyWorkerData {
  /** CDS_STORES as the agent read it */
  stores: string;
  region: string;
  probeStore: boolean;
}

export interface CopyRequest {
  id: number;
  item: SourceItem;
  key: string;
}

export interface CopyResponse {
  id: number;
  outcome?: CopyOutcome;
  error?: { kind: 'source' | 'store' | 'agent' | 'other'; sourcePath: string | null; message: string };
}

/** Copies and verifies files; `threads` of them at once in worker threads, or in this thread. */
export interface CopyEngine {
  migrate(item: SourceItem, key: string): Promise<CopyOutcome>;
  close(): Promise<void>;
}

/**
 * Files from this size on go to a copy thread: their hashing (milliseconds
 * per MB) outweighs handing them over. Smaller ones are copied in the
 * agent's own thread, where they cost file-system calls more than CPU and a
 * hand-over would only add to that (measured: 10% slower with threads).
 */
export const THREADED_MIN_BYTES = 16 * 1024 * 1024;

/** Copies small files in this thread and large ones in copy threads, started when the first large file comes. */
export class Copiers implements CopyEngine {
  private readonly inline: Copier;
  private pool: CopyPool | null = null;

  constructor(store: ObjectStore, private readonly threads: number, private readonly data: CopyWorkerData) {
    this.inline = new Copier(store, data.probeStore);
  }

  migrate(item: SourceItem, key: string): Promise<CopyOutcome> {
    if (this.threads <= 0 || item.sizeBytes < THREADED_MIN_BYTES) return this.inline.migrate(item, key);
    this.pool ??= CopyPool.start(this.threads, this.data);
    return this.pool.migrate(item, key);
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}

interface Pending {
  resolve(outcome: CopyOutcome): void;
  reject(error: unknown): void;
}

/**
 * Worker threads that copy and verify. Node hashes on the thread that calls
 * it, and SHA-256 of every byte twice (on the way in, and re-reading the
 * stored copy) is most of what a large file costs: one thread would leave
 * the other cores idle. Each file goes to the thread with the fewest files
 * in flight; everything about one file (probe, copy, retry, verify) happens
 * in that thread.
 */
export class CopyPool implements CopyEngine {
  private readonly workers: { worker: Worker; inFlight: Map<number, Pending> }[] = [];
  private nextId = 1;
  private broken: Error | null = null;

  private constructor() {}

  static start(threads: number, data: CopyWorkerData): CopyPool {
    const pool = new CopyPool();
    // Runs the worker file through the same loader as this one (.ts under @swc-node/register, .js when built).
    const file = path.join(__dirname, `copy-worker${path.extname(__filename)}`);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(`require(${JSON.stringify(file)});`, { eval: true, workerData: data });
      const slot = { worker, inFlight: new Map<number, Pending>() };
      worker.on('message', (response: CopyResponse) => {
        const pending = slot.inFlight.get(response.id);
        if (!pending) return;
        slot.inFlight.delete(response.id);
        if (response.outcome) pending.resolve(response.outcome);
        else pending.reject(rebuild(response.error));
      });
      const lost = (error: Error) => {
        pool.broken ??= error;
        for (const pending of slot.inFlight.values()) pending.reject(new AgentError(`A copy thread stopped: ${error.message}`));
        slot.inFlight.clear();
      };
      worker.on('error', lost);
      worker.on('exit', (code) => {
        if (slot.inFlight.size) lost(new Error(`it exited with code ${code}`));
      });
      pool.workers.push(slot);
    }
    return pool;
  }

  migrate(item: SourceItem, key: string): Promise<CopyOutcome> {
    if (this.broken) return Promise.reject(new AgentError(`A copy thread stopped: ${this.broken.message}`));
    const slot = this.workers.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    const id = this.nextId++;
    return new Promise<CopyOutcome>((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      slot.worker.postMessage({ id, item, key } satisfies CopyRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

function rebuild(error: CopyResponse['error']): Error {
  if (!error) return new Error('a copy thread answered neither an outcome nor an error');
  if (error.kind === 'source' && error.sourcePath) return new SourceFileError(error.sourcePath, error.message);
  if (error.kind === 'store' && error.sourcePath) return new StoreError(error.sourcePath, error.message);
  return error.kind === 'agent' ? new AgentError(error.message) : new Error(error.message);
}
