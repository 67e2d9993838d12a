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

/** The bus between subgraphs: at-least-once delivery to each consumer group. */
export interface EventBus {
  publish(events: readonly EventEnvelope[]): Promise<void>;
  /** Starts delivering to `group` from where it left off (or from the start when new). */
  consume(group: string, handler: EventHandler): Promise<Consumption>;
  /**
   * Live feed of every event published from now on, to every tailing process
   * (gateways fan subscriptions out from it). No acknowledgement, no catch-up:
   * it is for notifying clients, never for changing state.
   */
  tail(handler: (event: EventEnvelope) => void): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

export interface Consumption {
  /** Resolves when this group has handled every event published before the call. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** How many events this group has yet to handle (published, not yet acknowledged): its lag. */
  lag(): Promise<number>;
  stop(): Promise<void>;
}
