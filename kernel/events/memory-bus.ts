import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { componentLogger } from '../log';
import {
  BusPosition,
  ConsumeOptions,
  Consumption,
  DeadLetter,
  EventBus,
  EventEnvelope,
  EventHandler,
  newBusStats,
  PublishReceipt,
} from './envelope';

interface Group {
  /** how many entries (from the very first) this group has handled */
  cursor: number;
  handler: EventHandler | null;
  options: ConsumeOptions;
  draining: boolean;
  attempts: number;
  retryTimer: NodeJS.Timeout | null;
}

const log = componentLogger('bus');

/**
 * The embedded bus: an in-process log with one cursor per consumer group.
 * It gives the same at-least-once, in-order, catch-up behaviour as the Redis
 * bus while every subgraph runs in one process (`npm start`, tests). It keeps
 * nothing across restarts: each instance has its own epoch, so the outboxes
 * send again whatever they had sent to a previous process's bus and no
 * consumer acknowledged. Entry ids are "<n>-0", n counting from 1.
 */
export class MemoryBus implements EventBus {
  private readonly log: EventEnvelope[] = [];
  /** entries trimmed from the front of `log` */
  private base = 0;
  private readonly groups = new Map<string, Group>();
  private readonly progress = new EventEmitter();
  private readonly tails = new Set<(event: EventEnvelope) => void>();
  private readonly letters: DeadLetter[] = [];
  private readonly epoch = randomUUID();
  readonly stats = newBusStats();

  constructor(
    private readonly retryDelayMs = 200,
    private readonly expectedGroups?: readonly string[],
  ) {
    this.progress.setMaxListeners(0);
  }

  private get end(): number {
    return this.base + this.log.length;
  }

  async publish(events: readonly EventEnvelope[]): Promise<PublishReceipt> {
    const first = this.end;
    this.log.push(...events);
    this.stats.published += events.length;
    for (const tail of this.tails) {
      setImmediate(() => {
        for (const event of events) {
          try {
            tail(event);
          } catch (error) {
            log.error({ err: error }, 'tail handler failed');
          }
        }
      });
    }
    // Delivery runs after the publisher's own work: a handler that publishes
    // must never wait for itself.
    for (const name of this.groups.keys()) setImmediate(() => void this.drain(name));
    return { epoch: this.epoch, ids: events.map((_, i) => `${first + i + 1}-0`) };
  }

  async consume(groupName: string, handler: EventHandler, options: ConsumeOptions = {}): Promise<Consumption> {
    // A stopped group keeps its cursor, as a Redis consumer group does.
    const group: Group = this.groups.get(groupName) ?? {
      cursor: this.base,
      handler,
      options,
      draining: false,
      attempts: 0,
      retryTimer: null,
    };
    group.handler = handler;
    group.options = options;
    this.groups.set(groupName, group);
    setImmediate(() => void this.drain(groupName));
    return {
      caughtUp: (timeoutMs = 5000) => this.caughtUp(groupName, this.end, timeoutMs),
      lag: async () => this.end - group.cursor,
      stop: async () => {
        if (group.retryTimer) clearTimeout(group.retryTimer);
        group.handler = null;
      },
    };
  }

  async tail(handler: (event: EventEnvelope) => void): Promise<{ stop(): Promise<void> }> {
    this.tails.add(handler);
    return { stop: async () => void this.tails.delete(handler) };
  }

  async position(): Promise<BusPosition> {
    return { epoch: this.epoch, lastId: `${this.end}-0` };
  }

  async acknowledgedBelow(): Promise<string | null> {
    const names = this.expectedGroups ?? [...this.groups.keys()];
    if (!names.length) return null;
    let below = Infinity;
    for (const name of names) {
      const group = this.groups.get(name);
      if (!group) return null;
      below = Math.min(below, group.cursor + 1);
    }
    return `${below}-0`;
  }

  async trim(belowId: string): Promise<void> {
    const below = Number(belowId.split('-')[0]) - 1; // entries numbered below `below + 1` are handled by all
    const drop = Math.min(Math.max(0, below - this.base), this.log.length);
    this.log.splice(0, drop);
    this.base += drop;
  }

  async deadLetters(count = 100): Promise<DeadLetter[]> {
    return this.letters.slice(-count);
  }

  private async drain(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (!group || group.draining) return;
    group.draining = true;
    try {
      while (group.cursor < this.end && group.handler) {
        const event = this.log[group.cursor - this.base];
        try {
          group.attempts++;
          await group.handler(event);
          this.stats.applied++;
        } catch (error) {
          if (!(await this.isPoison(group))) {
            log.error({ err: error, group: name, type: event.type }, 'event handler failed; retrying');
            group.retryTimer = setTimeout(() => void this.drain(name), this.retryDelayMs);
            return;
          }
          // Healthy now: one more attempt tells a poison event from one that failed only while the consumer was not.
          const handler = group.handler;
          if (
            handler &&
            (await handler(event).then(
              () => true,
              () => false,
            ))
          ) {
            this.stats.applied++;
          } else {
            this.letters.push({
              group: name,
              entryId: `${group.cursor + 1}-0`,
              event: JSON.stringify(event),
              error: String((error as Error)?.message ?? error),
              at: new Date().toISOString(),
            });
            this.stats.deadLettered++;
            log.error(
              { err: error, group: name, type: event.type, eventId: event.id, attempts: group.attempts },
              'event set aside as a dead letter',
            );
          }
        }
        group.attempts = 0;
        group.cursor++;
        this.progress.emit(name);
      }
    } finally {
      group.draining = false;
    }
  }

  private async isPoison(group: Group): Promise<boolean> {
    // The last of `maxAttempts` is the confirmation attempt made once the consumer is known to be healthy.
    if (group.attempts < Math.max(1, (group.options.maxAttempts ?? 5) - 1)) return false;
    try {
      await group.options.healthy?.();
      return true;
    } catch {
      return false;
    }
  }

  private caughtUp(name: string, target: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const group = this.groups.get(name);
        if (!group || group.cursor >= target) {
          this.progress.off(name, check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.progress.off(name, check);
        reject(new Error(`event consumer '${name}' did not catch up within ${timeoutMs} ms`));
      }, timeoutMs);
      this.progress.on(name, check);
      check();
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    for (const group of this.groups.values()) {
      if (group.retryTimer) clearTimeout(group.retryTimer);
      group.handler = null;
    }
    this.groups.clear();
    this.tails.clear();
  }
}
