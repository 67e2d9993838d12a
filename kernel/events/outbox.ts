import { randomUUID } from 'node:crypto';
import {
  Column,
  DataSource,
  Entity,
  EntityManager,
  In,
  Index,
  IsNull,
  LessThan,
  MigrationInterface,
  Not,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  QueryRunner,
  Table,
  TableColumn,
  TableIndex,
} from 'typeorm';
import { col, InstantColumn } from '../columns';
import { compareStreamIds, EventBus, EventEnvelope } from './envelope';
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
  /** the bus epoch and entry id it was published as (kept until every consumer group acknowledged it) */
  @Column({ type: 'varchar', length: 64, nullable: true }) streamEpoch!: string | null;
  @Column({ type: 'varchar', length: 40, nullable: true }) streamId!: string | null;
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
    await q.createTable(
      new Table({
        name: 'outbox_event',
        columns: [
          col.serial('seq'),
          col.string('eventId', 36),
          col.string('type', 64),
          col.string('eventKey', 128),
          col.text('payload'),
          col.instant('occurredAt'),
          col.instant('publishedAt', true),
        ],
        indices: [
          { name: 'UQ_outbox_event_id', columnNames: ['eventId'], isUnique: true },
          { name: 'IX_outbox_unpublished', columnNames: ['publishedAt', 'seq'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'inbox_event',
        columns: [{ ...col.id('consumer', 64) }, { ...col.id('eventId', 36) }, col.instant('processedAt')],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('inbox_event');
    await q.dropTable('outbox_event');
  }
}

/** Where each outbox row went on the bus, so the relay can tell what the bus lost, and what every consumer has (docs/events.md). */
export class AddOutboxStreamPosition1700000000002 implements MigrationInterface {
  name = 'AddOutboxStreamPosition1700000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('outbox_event', new TableColumn(col.string('streamEpoch', 64, true)));
    await q.addColumn('outbox_event', new TableColumn(col.string('streamId', 40, true)));
    await q.createIndex('inbox_event', new TableIndex({ name: 'IX_inbox_processed', columnNames: ['processedAt'] }));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('inbox_event', 'IX_inbox_processed');
    await q.dropColumn('outbox_event', 'streamId');
    await q.dropColumn('outbox_event', 'streamEpoch');
  }
}

export const EVENT_MIGRATIONS = [CreateEventTables1700000000000, AddOutboxStreamPosition1700000000002];

/** Adds an event to the outbox inside the caller's transaction. */
export async function recordEvent<T extends EventType>(
  em: EntityManager,
  source: string,
  type: T,
  key: string,
  payload: EventPayloads[T],
): Promise<void> {
  await em.insert(OutboxEvent, {
    eventId: randomUUID(),
    type,
    eventKey: key,
    payload: JSON.stringify({ source, payload }),
    occurredAt: new Date(),
    publishedAt: null,
  });
}

export interface RelayOptions {
  /** how often to publish what a bus outage left behind (ms) */
  intervalMs?: number;
  /** how often to check what the bus lost, prune and trim (ms) */
  maintenanceMs?: number;
  /** how long inbox rows are kept for deduplication (ms) */
  inboxRetentionMs?: number;
}

/**
 * Moves committed outbox rows onto the bus, oldest first. Called right after
 * each commit (so events leave at once) and on a timer (so nothing waits for
 * ever after a bus outage). Publishing twice is harmless: consumers dedupe.
 *
 * It also heals what the bus lost (docs/events.md, "When the bus fails"): a
 * row keeps the epoch and entry id it was published as until every consumer
 * group acknowledged it; when the bus's epoch changed (Redis restarted empty)
 * or its newest entry is older than a row's (restored from an old snapshot),
 * the row is sent again. Acknowledged rows are pruned and the stream trimmed
 * below them; inbox rows older than the retention are pruned.
 */
export class OutboxRelay {
  private flushing: Promise<void> | null = null;
  private again = false;
  private timers: NodeJS.Timeout[] = [];
  /** publishing and maintenance never overlap within one process */
  private serial: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: DataSource,
    private readonly bus: EventBus,
    private readonly options: RelayOptions = {},
  ) {}

  start(intervalMs = this.options.intervalMs ?? 1000): void {
    const flush = setInterval(() => void this.flush().catch((e) => log.error({ err: e }, 'outbox flush failed; will retry')), intervalMs);
    const maintain = setInterval(
      () => void this.maintain().catch((e) => log.error({ err: e }, 'outbox maintenance failed; will retry')),
      this.options.maintenanceMs ?? 5000,
    );
    this.timers = [flush, maintain];
    for (const timer of this.timers) timer.unref();
  }

  /** Stops the timers after sending what is committed (graceful shutdown); a bus that is down leaves the rest to the next start. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.flush().catch((error) => log.error({ err: error }, 'last flush failed; the rows stay for the next start'));
    await this.serial.catch(() => undefined);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work, work);
    this.serial = run.catch(() => undefined);
    return run;
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
          await this.exclusive(() => this.flushOnce());
        } while (this.again);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Rows the bus lost are marked for sending again; rows every group acknowledged are pruned, the stream trimmed. */
  maintain(): Promise<void> {
    return this.exclusive(async (): Promise<boolean> => {
      const repo = this.db.getRepository(OutboxEvent);
      const { epoch, lastId } = await this.bus.position();
      // Sent under an earlier epoch: the bus lost it.
      const lost = await repo.update(
        { publishedAt: Not(IsNull()), streamEpoch: Not(epoch) },
        { publishedAt: null, streamEpoch: null, streamId: null },
      );
      // Sent above the stream's newest entry: lost with a rollback to an older snapshot.
      const newest = await repo.find({
        select: { seq: true, streamId: true },
        where: { streamEpoch: epoch },
        order: { seq: 'DESC' },
        take: 500,
      });
      const above = newest.filter((row) => row.streamId && compareStreamIds(row.streamId, lastId) > 0).map((row) => row.seq);
      if (above.length) await repo.update({ seq: In(above) }, { publishedAt: null, streamEpoch: null, streamId: null });
      if ((lost.affected ?? 0) + above.length > 0) {
        log.warn({ lost: (lost.affected ?? 0) + above.length }, 'the event bus lost published events; sending them again');
      }

      const below = await this.bus.acknowledgedBelow();
      if (below) {
        const sent = await repo.find({
          select: { seq: true, streamId: true },
          where: { streamEpoch: epoch },
          order: { seq: 'ASC' },
          take: 1000,
        });
        const done = sent.filter((row) => row.streamId && compareStreamIds(row.streamId, below) < 0).map((row) => row.seq);
        if (done.length) await repo.delete({ seq: In(done) });
        await this.bus.trim(below);
      }
      const retentionMs = this.options.inboxRetentionMs ?? 7 * 24 * 3600_000;
      const cutoff = new Date(Date.now() - retentionMs);
      await this.db.getRepository(InboxEvent).delete({ processedAt: LessThan(cutoff) });
      // Rows published before positions were recorded: kept as long as inbox rows.
      await repo.delete({ streamEpoch: IsNull(), publishedAt: LessThan(cutoff) });
      return (lost.affected ?? 0) + above.length > 0;
    }).then((resend) => (resend ? this.flush() : undefined));
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
      const [row] = (await runner.query('SELECT GET_LOCK(?, 10) AS got', [`outbox:${this.db.driver.database ?? ''}`])) as {
        got: number | string | null;
      }[];
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
    const repo = this.db.getRepository(OutboxEvent);
    for (;;) {
      const rows = await repo.find({ where: { publishedAt: IsNull() }, order: { seq: 'ASC' }, take: 500 });
      if (!rows.length) return;
      const events: EventEnvelope[] = rows.map((row) => {
        const body = JSON.parse(row.payload) as { source: string; payload: unknown };
        return {
          id: row.eventId,
          type: row.type,
          key: row.eventKey,
          source: body.source,
          occurredAt: row.occurredAt.toISOString(),
          payload: body.payload,
        };
      });
      const receipt = await this.bus.publish(events);
      // One statement records where every row went.
      const parameters: Record<string, string | number> = {};
      const cases = rows
        .map((row, i) => {
          parameters[`s${i}`] = row.seq;
          parameters[`i${i}`] = receipt.ids[i];
          return `WHEN :s${i} THEN :i${i}`;
        })
        .join(' ');
      await repo
        .createQueryBuilder()
        .update(OutboxEvent)
        .set({ publishedAt: new Date(), streamEpoch: receipt.epoch, streamId: () => `CASE seq ${cases} END` })
        .where({ seq: In(rows.map((r) => r.seq)) })
        .setParameters(parameters)
        .execute();
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
export function idempotentApplier(
  db: DataSource,
  consumer: string,
  appliers: Record<string, EventApplier>,
  afterCommit?: () => Promise<void>,
) {
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
  return Object.fromEntries(
    Object.entries(combined).map(([type, appliers]) => [
      type,
      async (em: EntityManager, event: EventEnvelope) => {
        for (const apply of appliers) await apply(em, event);
      },
    ]),
  );
}
