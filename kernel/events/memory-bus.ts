import { EventEmitter } from 'node:events';
import { componentLogger } from '../log';
import { Consumption, EventBus, EventEnvelope, EventHandler } from './envelope';

interface Group {
  cursor: number;
  handler: EventHandler;
  draining: boolean;
  retryTimer: NodeJS.Timeout | null;
}


const log = componentLogger('bus');

/**
 * The embedded bus: an in-process log with one cursor per consumer group.
 * It gives the same at-least-once, in-order, catch-up behaviour as the Redis
 * bus while every subgraph runs in one process (`npm start`, tests). It keeps
 * nothing across restarts; the outboxes do, and re-publish what was not sent.
 */
export class MemoryBus implements EventBus {
  private readonly log: EventEnvelope[] = [];
  private readonly groups = new Map<string, Group>();
  private readonly progress = new EventEmitter();
  private readonly tails = new Set<(event: EventEnvelope) => void>();

  constructor(private readonly retryDelayMs = 200) {
    this.progress.setMaxListeners(0);
  }

  async publish(events: readonly EventEnvelope[]): Promise<void> {
    this.log.push(...events);
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
  }

  async consume(groupName: string, handler: EventHandler): Promise<Consumption> {
    const existing = this.groups.get(groupName);
    const group: Group = existing ?? { cursor: 0, handler, draining: false, retryTimer: null };
    group.handler = handler;
    this.groups.set(groupName, group);
    setImmediate(() => void this.drain(groupName));
    return {
      caughtUp: (timeoutMs = 5000) => this.caughtUp(groupName, this.log.length, timeoutMs),
      lag: async () => this.log.length - group.cursor,
      stop: async () => {
        if (group.retryTimer) clearTimeout(group.retryTimer);
        this.groups.delete(groupName);
      },
    };
  }

  async tail(handler: (event: EventEnvelope) => void): Promise<{ stop(): Promise<void> }> {
    this.tails.add(handler);
    return { stop: async () => void this.tails.delete(handler) };
  }

  private async drain(name: string): Promise<void> {
    const group = this.groups.get(name);
    if (!group || group.draining) return;
    group.draining = true;
    try {
      while (group.cursor < this.log.length && this.groups.get(name) === group) {
        try {
          await group.handler(this.log[group.cursor]);
        } catch (error) {
          log.error({ err: error, group: name, type: this.log[group.cursor].type }, 'event handler failed; retrying');
          group.retryTimer = setTimeout(() => void this.drain(name), this.retryDelayMs);
          return;
        }
        group.cursor++;
        this.progress.emit(name);
      }
    } finally {
      group.draining = false;
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

  async close(): Promise<void> {
    for (const group of this.groups.values()) if (group.retryTimer) clearTimeout(group.retryTimer);
    this.groups.clear();
    this.tails.clear();
  }
}
