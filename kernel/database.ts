import fs from 'node:fs';
import path from 'node:path';
import { DataSource, EntityManager, EntitySchema, Logger, MixedList, QueryRunner } from 'typeorm';
import type { DatabaseConfig } from './config';
import { componentLogger } from './log';

const log = componentLogger('sql');

/**
 * Counts SQL statements. Attached as the TypeORM logger of every data source,
 * so tests (and operators, through logs) can see how many statements a request
 * costs; the "no N+1" tests assert on it.
 */
export class SqlCounter implements Logger {
  count = 0;
  readonly statements: string[] = [];
  constructor(
    private readonly keep = false,
    private readonly logErrors = false,
  ) {}
  logQuery(query: string): void {
    // Transaction bookkeeping is not a data access; counting it would only add noise.
    if (/^(START TRANSACTION|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)/i.test(query)) return;
    // The outbox relay and the inbox run on their own timers, beside requests; they are not what a request costs.
    if (/\b(outbox_event|inbox_event)\b|GET_LOCK|RELEASE_LOCK/.test(query)) return;
    this.count++;
    if (this.keep) this.statements.push(query);
  }
  logQueryError(error: string | Error, query: string): void {
    // The statement's parameters are never logged (personal data); its text at debug, or warn with LOG_SQL_ERRORS.
    log[this.logErrors ? 'warn' : 'debug'](
      { err: error instanceof Error ? error : new Error(String(error)), statement: query.slice(0, 2000) },
      'SQL statement failed',
    );
  }
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
  reset(): number {
    const n = this.count;
    this.count = 0;
    this.statements.length = 0;
    return n;
  }
}

// Function rather than a class constructor type keeps TypeORM's own typing.
type EntityList = MixedList<Function | string | EntitySchema>;

export interface DataSourceOptions {
  db: DatabaseConfig;
  entities: EntityList;
  migrations: MixedList<Function | string>;
  counter?: SqlCounter;
}

/** Creates the database of a mysql URL when it is missing (tests and first start). */
async function ensureMysqlDatabase(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DATABASE_URL '${url}' names no database`);
  if (!/^[A-Za-z0-9_]+$/.test(database)) throw new Error(`Database name '${database}' must be [A-Za-z0-9_]+`);
  parsed.pathname = '/';
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: parsed.toString() });
  try {
    await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await connection.end();
  }
}

/** Opens a subgraph's own database and brings its schema up to date by migrations. */
export async function openDatabase(options: DataSourceOptions): Promise<DataSource> {
  const common = {
    entities: options.entities,
    migrations: options.migrations,
    migrationsRun: true,
    synchronize: false,
    logger: options.counter ?? new SqlCounter(),
    logging: ['query', 'error'] as ('query' | 'error')[],
  };
  let dataSource: DataSource;
  if (options.db.kind === 'mysql') {
    await ensureMysqlDatabase(options.db.url);
    dataSource = new DataSource({
      ...common,
      type: 'mysql',
      url: options.db.url,
      timezone: 'Z',
      charset: 'utf8mb4_bin',
      supportBigNumbers: true,
      bigNumberStrings: false,
      extra: { connectionLimit: 20 },
    });
  } else {
    if (options.db.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(options.db.file)), { recursive: true });
    dataSource = new DataSource({
      ...common,
      type: 'better-sqlite3',
      database: options.db.file,
      // WAL lets readers run beside the one writer; busy_timeout waits instead of failing.
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        // better-sqlite3 blocks the event loop during each fsync; with WAL, NORMAL still survives a
        // crash of the process (only an OS crash may lose the newest commits). Production runs MySQL.
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    });
  }
  await dataSource.initialize();
  if (options.db.kind === 'sqlite') serializeTransactions(dataSource);
  return dataSource;
}

/**
 * TypeORM runs every better-sqlite3 transaction on the one shared connection,
 * so two open at once would nest (as savepoints) instead of being isolated: a
 * rollback of one could undo the other. SQLite allows one writer anyway, so
 * transactions of an SQLite data source run one after another. (Nested
 * `em.transaction` inside one still works: it is the manager of the running
 * transaction, not this one.)
 */
function serializeTransactions(dataSource: DataSource): void {
  const manager = dataSource.manager;
  const run = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  manager.transaction = ((...args: unknown[]) => {
    const result = tail.then(() => run(...args));
    tail = result.catch(() => undefined);
    return result;
  }) as typeof manager.transaction;
}

export function isDuplicateKeyError(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e?.driverError?.code ?? e?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export type { QueryRunner };

/**
 * Row lock for read-modify-write inside a transaction: SELECT ... FOR UPDATE
 * on MySQL/MariaDB. SQLite has no row locks; it serialises writers on the
 * whole database instead, which gives the same guarantee.
 */
export function forUpdate(em: EntityManager): { lock?: { mode: 'pessimistic_write' } } {
  return em.connection.options.type === 'mysql' ? { lock: { mode: 'pessimistic_write' } } : {};
}
