/**
 * Long work (a store reading back a large object, S3 assembling a multipart
 * upload) begun once per key and shared by whoever asks for the same key
 * meanwhile. A request that must answer within a time budget waits for it at
 * most that long (`within`) and answers that it is still under way; the work
 * goes on, and the request sent again joins it or takes its result, which is
 * kept for `keepMs` after the work settled (a failure is forgotten at once, so
 * it is tried again) and forgotten once taken.
 */
const PRUNE_EVERY_MS = 10_000;

export class SharedWork<T> {
  private readonly entries = new Map<string, { result: Promise<T>; expiresAt: number | null }>();
  private nextPruneAt = 0;

  constructor(
    private readonly keepMs: number,
    /** runs each piece of work, e.g. a limiter (kernel/map-limited.ts) bounding how many run at once */
    private readonly run: (work: () => Promise<T>) => Promise<T> = (work) => work(),
  ) {}

  /** The work under `key`: the one under way or settled and kept, else `work` begun now. */
  begin(key: string, work: () => Promise<T>): Promise<T> {
    // Results nobody came back for are dropped now and then, not on every call (a report begins up to 1000).
    const now = Date.now();
    if (now >= this.nextPruneAt) {
      this.nextPruneAt = now + Math.min(this.keepMs, PRUNE_EVERY_MS);
      for (const [k, entry] of this.entries) if (entry.expiresAt !== null && entry.expiresAt < now) this.entries.delete(k);
    }
    const known = this.entries.get(key);
    if (known) return known.result;
    const entry: { result: Promise<T>; expiresAt: number | null } = { result: this.run(work), expiresAt: null };
    this.entries.set(key, entry);
    entry.result.then(
      () => (entry.expiresAt = Date.now() + this.keepMs),
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return entry.result;
  }

  /** Forgets a result once it was taken, so that later work on the key starts afresh. */
  taken(key: string): void {
    this.entries.delete(key);
  }
}

/** What `within` answers when the work outlasted the budget. */
export const STILL_UNDER_WAY = Symbol('still under way');

/** A budget of `ms` from now, shared by every piece of work one request waits for. */
export function budget(ms: number): Promise<typeof STILL_UNDER_WAY> {
  return new Promise((resolve) => setTimeout(() => resolve(STILL_UNDER_WAY), ms).unref());
}

/** The work's result, or STILL_UNDER_WAY when `deadline` (a `budget`) came first. */
export function within<T>(work: Promise<T>, deadline: Promise<typeof STILL_UNDER_WAY>): Promise<T | typeof STILL_UNDER_WAY> {
  return Promise.race([work, deadline]);
}
