/** Where the progress goes: a terminal gets a redrawn bar, anything else plain lines. */
export interface ProgressSink {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
}

interface Sample {
  at: number;
  items: number;
  bytes: number;
}

export interface ProgressOptions {
  /** Redraws a second on a terminal, at most. */
  redrawsPerSecond?: number;
  /** Seconds between plain lines when not on a terminal. */
  lineEverySeconds?: number;
  /** The rate is measured over this window. */
  rateWindowSeconds?: number;
  now?: () => number;
}

/**
 * The agent's progress: on a terminal one line redrawn in place (percent,
 * items, MB, items/s, MB/s, ETA) at most ~10 times a second; otherwise a
 * plain line every ~2 s and one at the end, so logs stay readable.
 */
export class ProgressDisplay {
  private itemsTotal = 0;
  private bytesTotal = 0;
  private itemsDone = 0;
  private bytesDone = 0;
  private started = 0;
  private samples: Sample[] = [];
  private lastDraw = 0;
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;
  private waitingFor: string | null = null;
  private readonly tty: boolean;
  private readonly minRedrawMs: number;
  private readonly lineEveryMs: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    private readonly out: ProgressSink,
    options: ProgressOptions = {},
  ) {
    this.tty = Boolean(out.isTTY);
    this.minRedrawMs = 1000 / (options.redrawsPerSecond ?? 10);
    this.lineEveryMs = (options.lineEverySeconds ?? 2) * 1000;
    this.windowMs = (options.rateWindowSeconds ?? 5) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Starts measuring: totals of what moves, and what an earlier run already verified. */
  start(totals: { items: number; bytes: number }, alreadyDone: { items: number; bytes: number }): void {
    this.itemsTotal = totals.items;
    this.bytesTotal = totals.bytes;
    this.itemsDone = alreadyDone.items;
    this.bytesDone = alreadyDone.bytes;
    this.started = this.now();
    this.samples = [{ at: this.started, items: this.itemsDone, bytes: this.bytesDone }];
    this.lastDraw = this.tty ? 0 : this.started;
    this.schedule();
  }

  /** One more item verified. */
  advance(items: number, bytes: number): void {
    this.itemsDone += items;
    this.bytesDone += bytes;
    this.schedule();
  }

  /**
   * The gateway (or the store) is unreachable or failing for now: the
   * display says so, and why, until `resumed`. Said once per stretch of
   * trouble, and again when the cause changes.
   */
  waiting(cause: string, giveUpAt: number): void {
    const text = `Waiting: ${cause}; retrying until ${new Date(giveUpAt).toISOString().slice(11, 19)} UTC, then giving up (nothing is lost).`;
    if (text.replace(/until .* UTC/, '') === this.waitingFor) return;
    this.waitingFor = text.replace(/until .* UTC/, '');
    this.log(text);
  }

  resumed(): void {
    if (!this.waitingFor) return;
    this.waitingFor = null;
    this.log('Reached the gateway again; going on.');
  }

  /** A message between redraws: the bar is cleared, the message printed, the bar drawn again. */
  log(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    if (this.started && this.tty) this.draw();
  }

  /** The last state: on a terminal the bar stays, ended by a newline; otherwise one final line. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.started) return;
    if (this.tty) {
      this.draw();
      this.out.write('\n');
      this.drawn = false;
    } else {
      this.out.write(`${this.line()}\n`);
    }
    this.started = 0;
  }

  /** The text of the current state (also what the plain lines say). */
  line(): string {
    const now = this.now();
    const { itemsPerSecond, bytesPerSecond } = this.rates(now);
    const percent = this.bytesTotal > 0 || this.itemsTotal > 0 ? this.percent() : 100;
    const remainingItems = Math.max(0, this.itemsTotal - this.itemsDone);
    const remainingBytes = Math.max(0, this.bytesTotal - this.bytesDone);
    // Small files are bound by items a second, large ones by bytes a second: the slower says when it ends.
    const etaSeconds =
      remainingItems === 0
        ? 0
        : Math.max(
            itemsPerSecond > 0 ? remainingItems / itemsPerSecond : Infinity,
            bytesPerSecond > 0 && remainingBytes > 0 ? remainingBytes / bytesPerSecond : 0,
          );
    return (
      `${this.waitingFor ? 'WAITING ' : ''}${percent.toFixed(1).padStart(5)}%  ${count(this.itemsDone)}/${count(this.itemsTotal)} items  ` +
      `${mb(this.bytesDone)}/${mb(this.bytesTotal)} MB  ${rate(itemsPerSecond)} items/s  ${rate(bytesPerSecond / 1e6)} MB/s  ETA ${duration(etaSeconds)}`
    );
  }

  private percent(): number {
    // Bytes weigh more than items when there are bytes to move; a tree of empty files goes by items.
    const p =
      this.bytesTotal > 0
        ? (0.9 * this.bytesDone) / this.bytesTotal + (0.1 * this.itemsDone) / Math.max(1, this.itemsTotal)
        : this.itemsDone / Math.max(1, this.itemsTotal);
    return Math.min(100, Math.max(0, p * 100));
  }

  private rates(now: number): { itemsPerSecond: number; bytesPerSecond: number } {
    this.samples.push({ at: now, items: this.itemsDone, bytes: this.bytesDone });
    while (this.samples.length > 2 && now - this.samples[1].at >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.at) / 1000;
    if (seconds < 0.2) return { itemsPerSecond: 0, bytesPerSecond: 0 };
    return { itemsPerSecond: (this.itemsDone - first.items) / seconds, bytesPerSecond: (this.bytesDone - first.bytes) / seconds };
  }

  private schedule(): void {
    if (!this.started || this.timer) return;
    const wait = this.tty ? this.minRedrawMs : this.lineEveryMs;
    const due = Math.max(0, this.lastDraw + wait - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.started) return;
      if (this.tty) this.draw();
      else this.out.write(`${this.line()}\n`);
      this.lastDraw = this.now();
      // Keeps going while nothing moves (a large file), so rate and ETA stay honest and the run looks alive.
      this.schedule();
    }, due);
    this.timer.unref();
  }

  private draw(): void {
    // A terminal that does not say its width (0 under some multiplexers) gets a common one.
    const width = (this.out.columns || 120) - 1;
    const text = this.line();
    // The bar goes first when space runs short; the numbers (ETA last) matter more.
    const barWidth = Math.min(30, width - text.length - 3);
    let full = text;
    if (barWidth >= 10) {
      const filled = Math.round((this.percent() / 100) * barWidth);
      full = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${text}`;
    }
    this.out.write(`\r${full.slice(0, Math.max(20, width))}\x1b[K`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.tty && this.drawn) {
      this.out.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}

const count = (n: number) => n.toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1e6).toFixed(bytes >= 1e9 ? 0 : 1);
const rate = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
