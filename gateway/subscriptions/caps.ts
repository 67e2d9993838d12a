import { ExecutionResult } from 'graphql';
import { Identity } from '../../kernel/identity';

/**
 * Open subscriptions per connection and per caller (token subject), so one
 * socket or one token cannot hold the gateway's memory. A slot is reserved
 * before a subscription is admitted and released exactly once when it ends.
 */
export class SubscriptionCaps {
  private readonly connections = new WeakMap<object, Map<string, string>>();
  private readonly callers = new Map<string, number>();

  constructor(private readonly limits: { perConnection: number; perCaller: number }) {}

  /** A release function, or why the subscription is refused. */
  reserve(connection: object, id: string, identity: Identity): (() => void) | string {
    const open = this.connections.get(connection) ?? new Map<string, string>();
    if (open.size >= this.limits.perConnection)
      return `At most ${this.limits.perConnection} subscriptions per connection; complete one first`;
    const caller = `${identity.role}:${identity.sub}`;
    const count = this.callers.get(caller) ?? 0;
    if (count >= this.limits.perCaller) return `At most ${this.limits.perCaller} open subscriptions per caller; complete one first`;
    open.set(id, caller);
    this.connections.set(connection, open);
    this.callers.set(caller, count + 1);
    return () => this.release(connection, id);
  }

  release(connection: object, id: string): void {
    const open = this.connections.get(connection);
    const caller = open?.get(id);
    if (!open || caller === undefined) return;
    open.delete(id);
    const left = (this.callers.get(caller) ?? 1) - 1;
    if (left > 0) this.callers.set(caller, left);
    else this.callers.delete(caller);
  }

  releaseAll(connection: object): void {
    for (const id of [...(this.connections.get(connection)?.keys() ?? [])]) this.release(connection, id);
  }

  /** open subscriptions of a caller (tests, metrics) */
  openOf(identity: Pick<Identity, 'role' | 'sub'>): number {
    return this.callers.get(`${identity.role}:${identity.sub}`) ?? 0;
  }
}

/** The engine's iterator, releasing the caller's subscription slot once when it ends however it ends. */
export function released(inner: AsyncIterableIterator<ExecutionResult>, release: () => void): AsyncIterableIterator<ExecutionResult> {
  let done = false;
  const finish = () => {
    if (!done) {
      done = true;
      release();
    }
  };
  return {
    async next() {
      const step = await inner.next();
      if (step.done) finish();
      return step;
    },
    async return() {
      finish();
      return (await inner.return?.()) ?? { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
