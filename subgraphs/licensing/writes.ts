import { EntityManager, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { HolderLock } from './entities/holder-lock';
import { Holder } from './holders';

/** MariaDB/MySQL errors after which running the whole transaction again is the cure. */
const TRANSIENT = new Set(['ER_LOCK_DEADLOCK', 'ER_CHECKREAD']);
const isTransient = (error: unknown): boolean => {
  const e = error as { code?: string; driverError?: { code?: string } };
  return TRANSIENT.has(e?.driverError?.code ?? e?.code ?? '');
};

/** Rows per IN (...) list, well inside every driver's parameter limit. */
export const CHUNK = 500;
export const chunks = <T>(items: readonly T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * How licensing's commands change their tables so that the rules hold under
 * concurrent requests, enforced by the database:
 * - MariaDB/MySQL: a command on a holder first locks the holder's row in
 *   `holder_lock` (SELECT ... FOR UPDATE), so commands on one holder (static
 *   IPs against its allowance, bundle orders) run one after the other across
 *   every instance; reads inside run after the lock, so they see what the
 *   previous holder of the lock committed. Deadlocks are retried.
 * - SQLite (embedded, one process): the kernel runs an SQLite data source's
 *   transactions one at a time (kernel/database.ts), which serialises commands.
 * In both, the unique keys (one address per row, one address per PBX, one
 * holding per holder) stay the last line of defence.
 */
export class LicensingWrites {
  readonly mysql: boolean;

  constructor(private readonly runtime: SubgraphRuntime) {
    this.mysql = runtime.db.options.type === 'mysql';
  }

  /** Runs `work` in one transaction (its events through the outbox), as described above. */
  async transact<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (!this.mysql) return this.runtime.transact(work);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runtime.transact(work);
      } catch (error) {
        if (!isTransient(error) || attempt >= 5) throw error;
      }
    }
  }

  /** Like transact, holding the holder's lock for the whole transaction. */
  async forHolder<T>(holder: Holder, work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.mysql) await this.ensureLockRow(holder);
    return this.transact(async (em) => {
      await this.lockHolder(em, holder);
      return work(em);
    });
  }

  /** Adds FOR UPDATE where the database has row locks (SQLite runs commands one at a time instead). */
  forUpdate<E extends ObjectLiteral>(query: SelectQueryBuilder<E>): SelectQueryBuilder<E> {
    return this.mysql ? query.setLock('pessimistic_write') : query;
  }

  /** Adds FOR UPDATE SKIP LOCKED (rows another transaction is taking are passed over, not waited for). */
  forUpdateSkipLocked<E extends ObjectLiteral>(query: SelectQueryBuilder<E>): SelectQueryBuilder<E> {
    return this.mysql ? query.setLock('pessimistic_write').setOnLocked('skip_locked') : query;
  }

  /**
   * The lock row is created on first use, outside the command's transaction
   * and ignoring a twin that created it at the same moment: inserting it
   * inside would take a shared lock that two transactions could then both try
   * to upgrade (a deadlock).
   */
  private async ensureLockRow(holder: Holder): Promise<void> {
    const locks = this.runtime.db.getRepository(HolderLock);
    if (await locks.existsBy({ holderType: holder.type, holderId: holder.id })) return;
    await locks.createQueryBuilder().insert().values({ holderType: holder.type, holderId: holder.id }).orIgnore().execute();
  }

  private async lockHolder(em: EntityManager, holder: Holder): Promise<void> {
    if (!this.mysql) return;
    const row = await this.forUpdate(em.getRepository(HolderLock).createQueryBuilder('l'))
      .where('l.holderType = :type AND l.holderId = :id', { type: holder.type, id: holder.id })
      .getOne();
    if (!row) throw new Error(`holder_lock row of ${holder.type} ${holder.id} is missing after it was ensured`);
  }
}
