import { randomUUID } from 'node:crypto';
import { Column, DataSource, Entity, EntityManager, Index, MigrationInterface, PrimaryColumn, PrimaryGeneratedColumn, QueryRunner, Table, IsNull } from 'typeorm';
import { col, InstantColumn } from '../columns';
import { EventBus, EventEnvelope } from './envelope';
import { componentLogger } from '../log';
import { EventPayloads, EventType } from './catalog';

const log = componentLogger('outbox');

/** An event written in the same transaction as the change it announces. */
@Entity('outbox_event')
export class OutboxEvent {
  @PrimaryGeneratedColumn({ type: 'integer' }) seq!: number;
  @Index({ unique: true }) @Column({ type: 'varchar', length: 36 }) eventId!: string;
  @Column({ type: 'varchar', length: 64 }) type!: string;
  @Column({ type: 'varchar', length: 128 }) eventKey!: string;
  @Column({ type: 'text' }) payload!: string;
  @InstantColumn() occurredAt!: Date;
  @InstantColumn({ nullable: true }) publishedAt!: Date | null;
}

/** Which events a consumer has already applied: makes delivery idempotent. */
@Entity('inbox_event')
export class InboxEvent {
  @PrimaryColumn({ type: 'varchar', length: 64 }) consumer!: string;
  @PrimaryColumn({ type: 'varchar', length: 36 }) eventId!: string;
  @InstantColumn() processedAt!: Date;
}

export const EVENT_ENTITIES = [OutboxEvent, InboxEvent];

export class CreateEventTables1700000000000 implements MigrationInterface {
  name = 'CreateEventTables1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'outbox_event',
      columns: [
        col.serial('seq'), col.string('eventId', 36), col.string('type', 64), col.string('eventKey', 128),
        col.text('payload'), col.instant('occurredAt'), col.instant('publishedAt', true),
      ],
      indices: [{ name: 'UQ_outbox_event_id', columnNames: ['eventId'], isUnique: true }, { name: 'IX_outbox_unpublished', columnNames: ['publishedAt', 'seq'] }],
    }));
    await q.createTable(new Table({
      name: 'inbox_event',
      columns: [{ ...col.id('consumer', 64) }, { ...col.id('eventId', 36) }, col.instant('processedAt')],
    }));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('inbox_event');
    await q.dropTable('outbox_event');
  }
}

/** Adds an event to the outbox inside the caller's transaction. */
export async function recordEvent<T extends EventType>(em: EntityManager, source: string, type: T, key: string, payload: EventPayloads[T]): Promise<void> {
  await em.insert(OutboxEvent, {
    eventId: randomUUID(),
    type,
    eventKey: key,
    payload: JSON.stringify({ source, payload }),
    occurredAt: new Date(),
    publishedAt: null,
  });
}

/**
 * Moves committed outbox rows onto the bus, oldest first. Called right after
 * each commit (so events leave at once) and on a timer (so nothing waits for
 * ever after a bus outage). Publishing twice is harmless: consumers dedupe.
 */
export class OutboxRelay {
  private flushing: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: DataSource, private readonly bus: EventBus) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.flush().catch((e) => log.error({ err: e }, 'outbox flush failed; will retry')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing?.catch(() => undefined);
  }

  /** How many committed events wait to be published (the outbox backlog metric). */
  backlog(): Promise<number> {
    return this.db.getRepository(OutboxEvent).count({ where: { publishedAt: IsNull() } });
  }

  /** Publishes everything committed so far; concurrent calls share one run. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.again = false;
          await this.flushOnce();
        } while (this.again);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /**
   * On MySQL several instances of a subgraph share one outbox: a named lock
   * makes one relay publish at a time, so events leave in commit order (what
   * subscribers see as order per migration). SQLite has one process anyway.
   */
  private async flushOnce(): Promise<void> {
    if (this.db.options.type !== 'mysql') return this.publishPending();
    const runner = this.db.createQueryRunner();
    try {
      const [row] = (await runner.query('SELECT GET_LOCK(?, 10) AS got', [`outbox:${this.db.driver.database ?? ''}`])) as { got: number | string | null }[];
      if (Number(row?.got) !== 1) return; // another instance is publishing; its run covers our rows
      try {
        await this.publishPending();
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [`outbox:${this.db.driver.database ?? ''}`]);
      }
    } finally {
      await runner.release();
    }
  }

  private async publishPending(): Promise<void> {
    for (;;) {
      const rows = await this.db.getRepository(OutboxEvent).find({ where: { publishedAt: IsNull() }, order: { seq: 'ASC' }, take: 500 });
      if (!rows.length) return;
      const events: EventEnvelope[] = rows.map((row) => {
        const body = JSON.parse(row.payload) as { source: string; payload: unknown };
        return { id: row.eventId, type: row.type, key: row.eventKey, source: body.source, occurredAt: row.occurredAt.toISOString(), payload: body.payload };
      });
      await this.bus.publish(events);
      await this.db.getRepository(OutboxEvent).update(rows.map((r) => r.seq), { publishedAt: new Date() });
      if (rows.length < 500) return;
    }
  }
}

export type EventApplier = (em: EntityManager, event: EventEnvelope) => Promise<void>;

/**
 * Applies events to a subgraph's own tables exactly once per consumer: the
 * inbox row and the change commit together, a redelivered event finds its
 * inbox row and is skipped.
 */
export function idempotentApplier(db: DataSource, consumer: string, appliers: Record<string, EventApplier>, afterCommit?: () => Promise<void>) {
  return async (event: EventEnvelope): Promise<void> => {
    const apply = appliers[event.type];
    if (!apply) return;
    const applied = await db.transaction(async (em) => {
      if (await em.findOneBy(InboxEvent, { consumer, eventId: event.id })) return false;
      // A twin delivery racing this one fails here on the primary key and is retried, then skipped.
      await em.insert(InboxEvent, { consumer, eventId: event.id, processedAt: new Date() });
      await apply(em, event);
      return true;
    });
    if (applied) await afterCommit?.();
  };
}

/** Merges applier maps; several appliers of one event type run in the order given, in one transaction. */
export function combineAppliers(...maps: Record<string, EventApplier>[]): Record<string, EventApplier> {
  const combined: Record<string, EventApplier[]> = {};
  for (const map of maps) for (const [type, applier] of Object.entries(map)) (combined[type] ??= []).push(applier);
  return Object.fromEntries(Object.entries(combined).map(([type, appliers]) => [
    type,
    async (em: EntityManager, event: EventEnvelope) => {
      for (const apply of appliers) await apply(em, event);
    },
  ]));
}
