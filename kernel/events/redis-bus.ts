import os from 'node:os';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { componentLogger } from '../log';
import { Consumption, EventBus, EventEnvelope, EventHandler } from './envelope';

const log = componentLogger('bus');

type StreamEntry = [id: string, fields: string[]];

/** Stream ids are "ms-seq"; compares them as numbers. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * The production bus: one Redis Stream, one consumer group per subscribing
 * subgraph. Instances of a subgraph share their group's work; an entry is
 * acknowledged only after its handler committed, so a crash leaves it pending
 * and another instance (or the same one, restarted) claims it again. A group
 * created late starts from the beginning of the stream, so a consumer that was
 * down catches up when it returns.
 */
export class RedisStreamBus implements EventBus {
  private readonly writer: Redis;
  private readonly readers = new Set<Redis>();

  constructor(
    private readonly url: string,
    private readonly stream: string,
    private readonly options: { claimIdleMs?: number; maxLength?: number } = {},
  ) {
    this.writer = new Redis(url, { maxRetriesPerRequest: 3 });
  }

  async publish(events: readonly EventEnvelope[]): Promise<void> {
    if (!events.length) return;
    const pipeline = this.writer.pipeline();
    for (const event of events) {
      pipeline.xadd(this.stream, 'MAXLEN', '~', String(this.options.maxLength ?? 1_000_000), '*', 'event', JSON.stringify(event));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async consume(group: string, handler: EventHandler): Promise<Consumption> {
    try {
      await this.writer.xgroup('CREATE', this.stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
    const reader = new Redis(this.url, { maxRetriesPerRequest: null });
    this.readers.add(reader);
    const consumer = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const claimIdleMs = this.options.claimIdleMs ?? 15_000;
    let stopped = false;

    const handle = async (entries: StreamEntry[]) => {
      for (const [id, fields] of entries) {
        if (stopped) return;
        const raw = fields[fields.indexOf('event') + 1];
        try {
          if (raw) await handler(JSON.parse(raw) as EventEnvelope);
          await this.writer.xack(this.stream, group, id);
        } catch (error) {
          // Left pending: claimed again after `claimIdleMs`. Later entries go on.
          log.error({ err: error, group, entry: id }, 'event handler failed; the entry stays pending');
        }
      }
    };

    const loop = async () => {
      let lastClaim = 0;
      while (!stopped) {
        try {
          if (Date.now() - lastClaim > claimIdleMs / 3) {
            lastClaim = Date.now();
            // Entries a dead or failed consumer left pending come back here.
            const claimed = (await this.writer.xautoclaim(this.stream, group, consumer, claimIdleMs, '0-0', 'COUNT', 100)) as [string, StreamEntry[]];
            await handle(claimed[1].filter((entry) => entry && entry[1]));
          }
          const read = (await reader.xreadgroup('GROUP', group, consumer, 'COUNT', 200, 'BLOCK', 500, 'STREAMS', this.stream, '>')) as
            | [string, StreamEntry[]][]
            | null;
          if (read) for (const [, entries] of read) await handle(entries);
        } catch (error) {
          if (stopped) return;
          log.error({ err: error, group }, 'read failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const running = loop();

    return {
      caughtUp: (timeoutMs = 5000) => this.caughtUp(group, timeoutMs),
      lag: () => this.lag(group),
      stop: async () => {
        stopped = true;
        reader.disconnect();
        this.readers.delete(reader);
        await running;
      },
    };
  }

  async tail(handler: (event: EventEnvelope) => void): Promise<{ stop(): Promise<void> }> {
    const reader = new Redis(this.url, { maxRetriesPerRequest: null });
    this.readers.add(reader);
    let stopped = false;
    let lastId = '$';
    const loop = async () => {
      while (!stopped) {
        try {
          const read = (await reader.xread('COUNT', 500, 'BLOCK', 500, 'STREAMS', this.stream, lastId)) as [string, StreamEntry[]][] | null;
          for (const [, entries] of read ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              const raw = fields[fields.indexOf('event') + 1];
              if (!raw) continue;
              try {
                handler(JSON.parse(raw) as EventEnvelope);
              } catch (error) {
                log.error({ err: error }, 'tail handler failed');
              }
            }
          }
        } catch (error) {
          if (stopped) return;
          log.error({ err: error }, 'tail read failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const running = loop();
    return {
      stop: async () => {
        stopped = true;
        reader.disconnect();
        this.readers.delete(reader);
        await running;
      },
    };
  }

  /** Entries the group has not read yet plus those read and not acknowledged (XINFO GROUPS, Redis 7). */
  private async lag(group: string): Promise<number> {
    const groups = (await this.writer.xinfo('GROUPS', this.stream)) as unknown[][];
    for (const fields of groups) {
      const get = (name: string) => fields[fields.indexOf(name) + 1];
      if (get('name') !== group) continue;
      return Number(get('lag') ?? 0) + Number(get('pending') ?? 0);
    }
    return 0;
  }

  /** Waits until the group has delivered and acknowledged everything up to the stream's current end. */
  private async caughtUp(group: string, timeoutMs: number): Promise<void> {
    const info = (await this.writer.xinfo('STREAM', this.stream)) as unknown[];
    const target = String(info[info.indexOf('last-generated-id') + 1]);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const groups = (await this.writer.xinfo('GROUPS', this.stream)) as unknown[][];
      const mine = groups.find((g) => g[g.indexOf('name') + 1] === group);
      const delivered = mine ? String(mine[mine.indexOf('last-delivered-id') + 1]) : '0-0';
      if (compareStreamIds(delivered, target) >= 0) {
        const pending = (await this.writer.xpending(this.stream, group, '-', target, 1)) as unknown[];
        if (pending.length === 0) return;
      }
      if (Date.now() > deadline) throw new Error(`event consumer '${group}' did not catch up within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.disconnect();
    this.readers.clear();
    await this.writer.quit().catch(() => undefined);
  }
}
