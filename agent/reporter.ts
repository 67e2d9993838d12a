import { extensionValues, whileUnderWay } from './api';
import { CdsApi, MAX_ITEMS_PER_CALL, MigrationProgress, RecordingRegistration, VerifiedItem } from './operations';

export interface ReporterOptions {
  pbxId: string;
  migrationId: string;
  runToken: string;
  /** Items per report; at most the server's 1000. */
  batchSize: number;
  /** A partial batch goes out after this long, so watchers see progress during large files. */
  flushAfterMs?: number;
  /** With nothing to report for this long, an empty report keeps the run's lease on the migration. */
  heartbeatMs?: number;
  onReported?: (migration: MigrationProgress) => void;
  /** CDS is still reading reported objects back (large ones): the report goes again until they are verified. */
  onVerifying?: (sourcePaths: string[]) => void;
}

/** The request body stays well under the gateway's 1 MB limit whatever the paths. */
const MAX_BATCH_JSON_BYTES = 600_000;

/**
 * Sends verified items to the server in batches while copying goes on:
 * a batch's recordings are registered (with their sidecar metadata), then
 * its items counted; one batch in flight at a time. A failed report stops
 * the run: `add` and `drain` rethrow it.
 */
export class ProgressReporter {
  /** Verified items waiting to be reported, each with its recording's registration when it is one. */
  private items: { item: VerifiedItem; recording: RecordingRegistration | null; bytes: number }[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastSentAt = Date.now();
  private readonly flushAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly batchSize: number;
  /** Items the server has acknowledged in this run. */
  reported = 0;
  /** Items CDS refused because their stored object did not verify (it removed them): the run uploads them again. */
  unverified: VerifiedItem[] = [];

  constructor(
    private readonly api: CdsApi,
    private readonly options: ReporterOptions,
  ) {
    this.batchSize = Math.max(1, Math.min(options.batchSize, MAX_ITEMS_PER_CALL));
    this.flushAfterMs = options.flushAfterMs ?? 1000;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.heartbeat = setInterval(
      () => {
        if (!this.inFlight && !this.items.length && Date.now() - this.lastSentAt >= this.heartbeatMs) this.kick();
      },
      Math.max(250, Math.floor(this.heartbeatMs / 2)),
    );
    this.heartbeat.unref();
  }

  /**
   * Queues one verified item. Resolves at once unless two full batches are
   * already waiting, so copying slows down to what the server takes.
   */
  async add(item: VerifiedItem, recording: RecordingRegistration | null): Promise<void> {
    this.throwIfFailed();
    const bytes = JSON.stringify(item).length + (recording ? JSON.stringify(recording).length : 0);
    this.items.push({ item, recording, bytes });
    this.pendingBytes += bytes;
    if (this.items.length >= this.batchSize || this.pendingBytes >= MAX_BATCH_JSON_BYTES) this.kick();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.kick();
      }, this.flushAfterMs);
    }
    while (this.items.length >= 2 * this.batchSize && this.inFlight) {
      await this.inFlight;
      this.throwIfFailed();
    }
  }

  /** Sends everything queued and waits for it; rethrows a failed report. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      this.throwIfFailed();
      if (!this.items.length) return;
      this.kick();
    }
  }

  /** Stops the timers; queued items are dropped (they are verified in CDS, and a resumed run reports them again). */
  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.flushTimer = null;
    this.heartbeat = null;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Starts sending the next batch (or an empty heartbeat) unless one is under way. */
  private kick(): void {
    if (this.inFlight || this.failure) return;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const items = this.takeBatch();
    this.inFlight = this.send(items.items, items.recordings)
      .catch((error: unknown) => {
        this.failure = error;
      })
      .finally(() => {
        this.inFlight = null;
        // What piled up meanwhile goes next, without waiting for the timer.
        if (!this.failure && this.items.length >= this.batchSize) this.kick();
        else if (!this.failure && this.items.length && !this.flushTimer) {
          this.flushTimer = setTimeout(() => {
            this.flushTimer = null;
            this.kick();
          }, this.flushAfterMs);
        }
      });
  }

  private takeBatch(): { items: VerifiedItem[]; recordings: RecordingRegistration[] } {
    const items: VerifiedItem[] = [];
    const recordings: RecordingRegistration[] = [];
    let bytes = 0;
    let taken = 0;
    while (taken < this.items.length && items.length < this.batchSize && bytes < MAX_BATCH_JSON_BYTES) {
      const next = this.items[taken++];
      items.push(next.item);
      if (next.recording) recordings.push(next.recording);
      bytes += next.bytes;
    }
    this.items = this.items.slice(taken);
    this.pendingBytes = Math.max(0, this.pendingBytes - bytes);
    return { items, recordings };
  }

  private async send(items: VerifiedItem[], recordings: RecordingRegistration[]): Promise<void> {
    let migration: MigrationProgress;
    try {
      migration = await this.reportWhileVerifying(items, recordings);
    } catch (error) {
      // CDS verifies every object before it counts; those that did not verify are taken out, the rest reported again.
      const refused = new Set(extensionValues(error, 'unverified'));
      if (!refused.size) throw error;
      this.unverified.push(...items.filter((i) => refused.has(i.sourcePath)));
      const keep = items.filter((i) => !refused.has(i.sourcePath));
      if (!keep.length) return;
      migration = await this.reportWhileVerifying(
        keep,
        recordings.filter((r) => !refused.has(r.sourcePath)),
      );
      items = keep;
    }
    this.lastSentAt = Date.now();
    this.reported += items.length;
    this.options.onReported?.(migration);
  }

  /**
   * One report, sent again for as long as CDS answers that it is still
   * reading some of its objects back (a large file from a store that keeps
   * no checksum); the run keeps its lease meanwhile. Recordings are
   * registered once.
   */
  private reportWhileVerifying(items: VerifiedItem[], recordings: RecordingRegistration[]): Promise<MigrationProgress> {
    const { pbxId, migrationId, runToken } = this.options;
    let registering = recordings;
    return whileUnderWay(
      'verifying',
      async () => {
        const answer = this.api.report(pbxId, migrationId, runToken, items, registering);
        registering = [];
        return answer;
      },
      this.options.onVerifying,
    );
  }
}
