import os from 'node:os';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { componentLogger } from '../log';
import {
  BusPosition,
  compareStreamIds,
  ConsumeOptions,
  Consumption,
  DeadLetter,
  EventBus,
  EventEnvelope,
  EventHandler,
  newBusStats,
  nextStreamId,
  PublishReceipt,
} from './envelope';

export { compareStreamIds } from './envelope';

const log = componentLogger('bus');

type StreamEntry = [id: string, fields: string[]];

const isNoGroup = (error: unknown) => String(error).includes('NOGROUP');
const isNoSuchKey = (error: unknown) => /no such key/i.test(String(error));

export interface RedisStreamBusOptions {
  /** how long an entry stays pending with a consumer before another claims it (default 15 s) */
  claimIdleMs?: number;
  /**
   * The consumer groups that must acknowledge an entry before the stream drops
   * it and its outbox row is pruned. Default: whichever groups exist.
   */
  expectedGroups?: readonly string[];
  /**
   * Entries younger than this are never trimmed, acknowledged or not: live
   * tails (gateways serving subscriptions) read without a group and must not
   * find what they were about to read gone (default 60 s).
   */
  tailGraceMs?: number;
}

/**
 * The production bus: one Redis Stream, one consumer group per subscribing
 * subgraph. Instances of a subgraph share their group's work; an entry is
 * acknowledged only after its handler committed, so a crash leaves it pending
 * and another instance (or the same one, restarted) claims it again. A group
 * created late starts from the beginning of the stream, so a consumer that was
 * down catches up when it returns.
 *
 * It heals (docs/events.md, "When the bus fails"): a group that vanished
 * (NOGROUP: Redis restarted empty, or the group was deleted) is created again
 * from the start of the stream; the stream's epoch (a key beside it) tells the
 * outbox relays that what they sent is gone, and they send it again; an event
 * that keeps failing while its consumer is healthy goes to `<stream>:dead-letter`
 * and the others go on; the stream is trimmed only below what every expected
 * group acknowledged.
 */
export class RedisStreamBus implements EventBus {
  private readonly writer: Redis;
  private readonly readers = new Set<Redis>();
  readonly stats = newBusStats();
  private readonly epochKey: string;
  private readonly deadLetterStream: string;

  constructor(
    private readonly url: string,
    private readonly stream: string,
    private readonly options: RedisStreamBusOptions = {},
  ) {
    this.writer = new Redis(url, { maxRetriesPerRequest: 3 });
    // Errors surface on the commands that fail; the event only reports reconnects.
    this.writer.on('error', () => undefined);
    this.epochKey = `${stream}:epoch`;
    this.deadLetterStream = `${stream}:dead-letter`;
  }

  async publish(events: readonly EventEnvelope[]): Promise<PublishReceipt> {
    if (!events.length) return { epoch: (await this.position()).epoch, ids: [] };
    // One transaction: the epoch the entries belong to and the entries themselves.
    const candidate = randomUUID();
    const tx = this.writer.multi().set(this.epochKey, candidate, 'NX', 'GET');
    for (const event of events) tx.xadd(this.stream, '*', 'event', JSON.stringify(event));
    const results = await tx.exec();
    if (!results) throw new Error('event publish transaction was aborted');
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
    this.stats.published += events.length;
    return { epoch: (results[0][1] as string | null) ?? candidate, ids: results.slice(1).map(([, id]) => String(id)) };
  }

  async position(): Promise<BusPosition> {
    const candidate = randomUUID();
    const [[, previous], [, lastId]] = (await this.writer
      .multi()
      .set(this.epochKey, candidate, 'NX', 'GET')
      .eval(
        `local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1]) if not ok then return '0-0' end
             for i = 1, #info, 2 do if info[i] == 'last-generated-id' then return info[i + 1] end end return '0-0'`,
        1,
        this.stream,
      )
      .exec()) as [[null, string | null], [null, string]];
    return { epoch: previous ?? candidate, lastId };
  }

  async acknowledgedBelow(): Promise<string | null> {
    let groups: unknown[][];
    try {
      groups = (await this.writer.xinfo('GROUPS', this.stream)) as unknown[][];
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw error;
    }
    const field = (group: unknown[], name: string) => group[group.indexOf(name) + 1];
    const byName = new Map(groups.map((g) => [String(field(g, 'name')), g]));
    const expected = this.options.expectedGroups ?? [...byName.keys()];
    if (!expected.length) return null;
    let below: string | null = null;
    for (const name of expected) {
      const group = byName.get(name);
      if (!group) return null;
      let bound: string;
      if (Number(field(group, 'pending')) > 0) {
        // Everything below the oldest pending entry is acknowledged.
        const summary = (await this.writer.xpending(this.stream, name)) as [number, string | null, string | null, unknown];
        bound = summary[1] ?? nextStreamId(String(field(group, 'last-delivered-id')));
      } else bound = nextStreamId(String(field(group, 'last-delivered-id')));
      if (below === null || compareStreamIds(bound, below) < 0) below = bound;
    }
    return below;
  }

  async trim(belowId: string): Promise<void> {
    const floor = `${Math.max(0, Date.now() - (this.options.tailGraceMs ?? 60_000))}-0`;
    await this.writer.xtrim(this.stream, 'MINID', compareStreamIds(belowId, floor) < 0 ? belowId : floor);
  }

  async deadLetters(count = 100): Promise<DeadLetter[]> {
    const entries = (await this.writer.xrevrange(this.deadLetterStream, '+', '-', 'COUNT', count)) as StreamEntry[];
    return entries.reverse().map(([, fields]) => JSON.parse(fields[fields.indexOf('letter') + 1]) as DeadLetter);
  }

  private async ensureGroup(group: string): Promise<void> {
    try {
      await this.writer.xgroup('CREATE', this.stream, group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  }

  async consume(group: string, handler: EventHandler, consumeOptions: ConsumeOptions = {}): Promise<Consumption> {
    await this.ensureGroup(group);
    const reader = new Redis(this.url, { maxRetriesPerRequest: null });
    reader.on('error', () => undefined);
    this.readers.add(reader);
    const consumer = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const claimIdleMs = this.options.claimIdleMs ?? 15_000;
    const maxAttempts = consumeOptions.maxAttempts ?? 5;
    const blockMs = Math.max(10, Math.min(500, Math.floor(claimIdleMs / 3)));
    let stopped = false;

    /** An event is poison when it cannot be read, or failed `maxAttempts` deliveries while its consumer was healthy. */
    const isPoison = async (id: string, raw: string | undefined): Promise<boolean> => {
      if (!raw) return true;
      const pending = (await this.writer.xpending(this.stream, group, id, id, 1)) as [string, string, number, number][];
      const deliveries = pending[0]?.[3] ?? 0;
      // The last of `maxAttempts` is the confirmation attempt made once the consumer is known to be healthy.
      if (deliveries < Math.max(1, maxAttempts - 1)) return false;
      try {
        await consumeOptions.healthy?.();
        return true;
      } catch {
        return false;
      }
    };

    const handle = async (entries: StreamEntry[]) => {
      for (const [id, fields] of entries) {
        if (stopped) return;
        const raw = fields[fields.indexOf('event') + 1];
        try {
          if (!raw) throw new Error('entry has no event field');
          await handler(JSON.parse(raw) as EventEnvelope);
          await this.writer.xack(this.stream, group, id);
          this.stats.applied++;
        } catch (error) {
          try {
            // Healthy now: one more attempt tells a poison event from one that failed only while the consumer was not.
            const poison = await isPoison(id, raw);
            const confirmed =
              poison &&
              raw !== undefined &&
              (await handler(JSON.parse(raw) as EventEnvelope).then(
                () => true,
                () => false,
              ));
            if (confirmed) {
              await this.writer.xack(this.stream, group, id);
              this.stats.applied++;
            } else if (poison) {
              const letter: DeadLetter = {
                group,
                entryId: id,
                event: raw ?? '',
                error: String((error as Error)?.message ?? error),
                at: new Date().toISOString(),
              };
              await this.writer
                .multi()
                .xadd(this.deadLetterStream, '*', 'letter', JSON.stringify(letter))
                .xack(this.stream, group, id)
                .exec();
              this.stats.deadLettered++;
              log.error(
                { err: error, group, entry: id, deadLetterStream: this.deadLetterStream, attempts: maxAttempts },
                'event set aside as a dead letter',
              );
            } else {
              // Left pending: claimed again after `claimIdleMs`. Later entries go on.
              log.error({ err: error, group, entry: id }, 'event handler failed; the entry stays pending');
            }
          } catch (inner) {
            log.error({ err: error, inner, group, entry: id }, 'event handler failed; the entry stays pending');
          }
        }
      }
    };

    const loop = async () => {
      let lastClaim = 0;
      let failing = false;
      while (!stopped) {
        try {
          if (Date.now() - lastClaim > claimIdleMs / 3) {
            lastClaim = Date.now();
            // Entries a dead or failed consumer left pending come back here.
            const claimed = (await this.writer.xautoclaim(this.stream, group, consumer, claimIdleMs, '0-0', 'COUNT', 100)) as [
              string,
              StreamEntry[],
            ];
            await handle(claimed[1].filter((entry) => entry && entry[1]));
          }
          // Blocks no longer than the claim cadence, so pending entries are claimed on time.
          const read = (await reader.xreadgroup('GROUP', group, consumer, 'COUNT', 200, 'BLOCK', blockMs, 'STREAMS', this.stream, '>')) as
            [string, StreamEntry[]][] | null;
          if (read) for (const [, entries] of read) await handle(entries);
          if (failing) log.warn({ group }, 'reads again');
          failing = false;
        } catch (error) {
          if (stopped) return;
          if (isNoGroup(error)) {
            // The group (or the whole stream) is gone: start it again from the beginning; the inbox skips what was applied.
            log.warn({ group }, 'consumer group vanished (NOGROUP); creating it again from the start of the stream');
            try {
              await this.ensureGroup(group);
              this.stats.groupsRecreated++;
              lastClaim = 0;
              continue;
            } catch {
              // Redis is not answering yet; wait below.
            }
          } else if (!failing) log.error({ err: error, group }, 'read failed; retrying');
          failing = true;
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
    reader.on('error', () => undefined);
    this.readers.add(reader);
    let stopped = false;
    let lastId = '$';
    const loop = async () => {
      let failing = false;
      while (!stopped) {
        try {
          const read = (await reader.xread('COUNT', 500, 'BLOCK', 500, 'STREAMS', this.stream, lastId)) as [string, StreamEntry[]][] | null;
          failing = false;
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
          if (!failing) log.error({ err: error }, 'tail read failed; retrying');
          failing = true;
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
    let groups: unknown[][] = [];
    try {
      groups = (await this.writer.xinfo('GROUPS', this.stream)) as unknown[][];
    } catch (error) {
      if (!isNoSuchKey(error)) throw error;
    }
    for (const fields of groups) {
      const get = (name: string) => fields[fields.indexOf(name) + 1];
      if (get('name') !== group) continue;
      return Number(get('lag') ?? 0) + Number(get('pending') ?? 0);
    }
    return 0;
  }

  /** Waits until the group has delivered and acknowledged everything up to the stream's current end. */
  private async caughtUp(group: string, timeoutMs: number): Promise<void> {
    const { lastId: target } = await this.position();
    if (target === '0-0') return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let groups: unknown[][] = [];
      try {
        groups = (await this.writer.xinfo('GROUPS', this.stream)) as unknown[][];
      } catch (error) {
        if (!isNoSuchKey(error)) throw error;
      }
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

  async ping(): Promise<void> {
    await this.writer.ping();
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.disconnect();
    this.readers.clear();
    await this.writer.quit().catch(() => undefined);
  }
}
