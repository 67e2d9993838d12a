/**
 * An event as it travels between subgraphs. Names and payloads are listed in
 * docs/events.md; `key` is the aggregate it is about (a PBX serial, a network
 * id), which consumers use to keep per-aggregate order with `revision`s.
 */
export interface EventEnvelope<P = unknown> {
  id: string;
  type: string;
  key: string;
  source: string;
  occurredAt: string;
  payload: P;
}

export type EventHandler = (event: EventEnvelope) => Promise<void>;

/**
 * Where the bus is. `epoch` names the stream's contents: it changes when the
 * bus lost its data (Redis restarted empty), which tells each outbox relay to
 * send again what it had sent before. `lastId` is the newest entry's id
 * ("ms-seq", compared with compareStreamIds); an entry the relay recorded
 * above it was lost too (Redis restored from an older snapshot).
 */
export interface BusPosition {
  epoch: string;
  lastId: string;
}

/** What publishing recorded: the epoch and each event's entry id, in order. */
export interface PublishReceipt {
  epoch: string;
  ids: string[];
}

export interface ConsumeOptions {
  /** deliveries of one event before it counts as poison and goes to the dead-letter stream (default 5) */
  maxAttempts?: number;
  /**
   * Whether the consumer itself is healthy (its database answers). An event
   * goes to the dead-letter stream only when it fails while this holds, so a
   * database outage makes events wait, never lose them.
   */
  healthy?: () => Promise<unknown>;
}

/** An event its consumer could not apply, set aside so the others go on. */
export interface DeadLetter {
  group: string;
  entryId: string;
  event: string;
  error: string;
  at: string;
}

/** Counters of a bus (read by metrics). */
export interface BusStats {
  published: number;
  applied: number;
  deadLettered: number;
  /** consumer groups re-created after they vanished (NOGROUP, Redis restarted empty) */
  groupsRecreated: number;
}

/** The bus between subgraphs: at-least-once delivery to each consumer group. */
export interface EventBus {
  publish(events: readonly EventEnvelope[]): Promise<PublishReceipt>;
  /** Starts delivering to `group` from where it left off (or from the start when new). */
  consume(group: string, handler: EventHandler, options?: ConsumeOptions): Promise<Consumption>;
  /**
   * Live feed of every event published from now on, to every tailing process
   * (gateways fan subscriptions out from it). No acknowledgement, no catch-up:
   * it is for notifying clients, never for changing state.
   */
  tail(handler: (event: EventEnvelope) => void): Promise<{ stop(): Promise<void> }>;
  position(): Promise<BusPosition>;
  /**
   * An id below which every consumer group has acknowledged every entry, or
   * null while one of the expected groups does not exist (yet, or any more):
   * what the relay may prune from its outbox and the stream may drop.
   */
  acknowledgedBelow(): Promise<string | null>;
  /** Drops the entries below `id` (only ever what acknowledgedBelow allowed). */
  trim(belowId: string): Promise<void>;
  /** Events set aside as poison, newest last. */
  deadLetters(count?: number): Promise<DeadLetter[]>;
  readonly stats: BusStats;
  /** Resolves when the bus answers (readiness); rejects when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Consumption {
  /** Resolves when this group has handled every event published before the call. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const newBusStats = (): BusStats => ({ published: 0, applied: 0, deadLettered: 0, groupsRecreated: 0 });

/** Stream ids are "ms-seq"; compares them as numbers. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = 0n] = a.split('-').map(BigInt);
  const [bm, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** The smallest id above `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}
