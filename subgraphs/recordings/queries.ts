import { DataSource } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { badInput } from '../../kernel/errors';
import { decodeCursor } from '../../kernel/graphql/connection';
import { Recording } from './entities/recording';
import { RecordingWindow } from './rules';

/** Where a newest-first page continues: after this (startedAt, id), exclusive. */
export interface RecordingCursor {
  startedAt: Date;
  id: string;
}

/** One PBX's page: at most `rows` recordings in `window`, newest first, after `after`. */
export interface RecordingPageRequest {
  pbxId: string;
  window: RecordingWindow;
  after: RecordingCursor | null;
  rows: number;
}

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface RecordingCountRequest {
  pbxId: string;
  window: RecordingWindow;
}

/** The sort key of a recording, as it goes into a cursor (milliseconds, id). */
export const sortKeyOf = (recording: Pick<Recording, 'startedAt' | 'id'>): (string | number)[] =>
  [recording.startedAt.getTime(), recording.id];

export function parseRecordingCursor(after: string): RecordingCursor {
  const [millis, id] = decodeCursor(after, 2);
  if (typeof millis !== 'number' || !Number.isSafeInteger(millis) || typeof id !== 'string') {
    throw badInput(`'${after}' is not a cursor this list gave out`, 'after');
  }
  return { startedAt: new Date(millis), id };
}

/** Newest first, as SQL orders a page; the index (pbxId, startedAt, id) serves this order backwards. */
export const compareNewestFirst = (a: Recording, b: Recording): number =>
  b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * The paged reads of recordings, for any number of PBXs in one statement.
 *
 * Each PBX's page is its own keyset seek on (pbxId, startedAt, id) with a
 * LIMIT, as a derived table; the pages are glued with UNION ALL and tagged
 * with their position so rows go back to the request that asked. The cost of
 * a page therefore depends on its size, not on how many recordings the PBX
 * has (no OFFSET, no per-row lookups), and a request touching many PBXs still
 * costs one statement. Written as SQL both MariaDB/MySQL and SQLite accept.
 */
export class RecordingQueries {
  private readonly columns: ColumnMetadata[];
  private readonly startedAtColumn: ColumnMetadata;
  private readonly table: string;
  private readonly pointRangeForPbx: boolean;

  constructor(private readonly db: DataSource) {
    const metadata = db.getMetadata(Recording);
    this.columns = metadata.columns;
    this.startedAtColumn = metadata.findColumnWithPropertyName('startedAt')!;
    this.table = this.q(metadata.tableName);
    this.pointRangeForPbx = db.options.type === 'mysql' || db.options.type === 'mariadb';
  }

  /** One statement for all requests; each answer newest first, at most `rows` long. */
  async pages(requests: readonly RecordingPageRequest[]): Promise<Recording[][]> {
    if (!requests.length) return [];
    const { sql, params } = this.pageStatement(requests);
    const raw = await this.db.query<Record<string, unknown>[]>(sql, params);
    const pages = requests.map((): Recording[] => []);
    for (const row of raw) pages[Number(row.pageKey)]?.push(this.hydrate(row));
    // UNION ALL promises no order across or within its parts.
    for (const page of pages) page.sort(compareNewestFirst);
    return pages;
  }

  /** Counts per request in one statement, each an index range count on (pbxId, startedAt). */
  async counts(requests: readonly RecordingCountRequest[]): Promise<number[]> {
    if (!requests.length) return [];
    const { sql, params } = this.countStatement(requests);
    const raw = await this.db.query<{ pageKey: number | string; n: number | string }[]>(sql, params);
    const counts = requests.map(() => 0);
    for (const row of raw) counts[Number(row.pageKey)] = Number(row.n);
    return counts;
  }

  /** The SQL of `pages` (public so tests can EXPLAIN it). */
  pageStatement(requests: readonly RecordingPageRequest[]): Statement {
    const params: unknown[] = [];
    const selectList = this.columns.map((c) => this.q(c.databaseName)).join(', ');
    // pbxId leads the ORDER BY so the index order is the sort order even where pbxId is a range (see `where`).
    const order = `${this.q('pbxId')} DESC, ${this.q('startedAt')} DESC, ${this.q('id')} DESC`;
    const parts = requests.map((request, k) => {
      if (!Number.isSafeInteger(request.rows) || request.rows < 1) throw new Error(`page size must be a positive integer (got ${request.rows})`);
      const where = this.where(request.pbxId, request.window, request.after, params);
      return `SELECT ${k} AS ${this.q('pageKey')}, ${this.q(`p${k}`)}.* FROM `
        + `(SELECT ${selectList} FROM ${this.table} WHERE ${where} ORDER BY ${order} LIMIT ${request.rows}) ${this.q(`p${k}`)}`;
    });
    return { sql: parts.join(' UNION ALL '), params };
  }

  /** The SQL of `counts`. */
  countStatement(requests: readonly RecordingCountRequest[]): Statement {
    const params: unknown[] = [];
    const parts = requests.map((request, k) =>
      `SELECT ${k} AS ${this.q('pageKey')}, COUNT(*) AS ${this.q('n')} FROM ${this.table} WHERE ${this.where(request.pbxId, request.window, null, params)}`);
    return { sql: parts.join(' UNION ALL '), params };
  }

  private where(pbxId: string, window: RecordingWindow, after: RecordingCursor | null, params: unknown[]): string {
    const started = this.q('startedAt');
    const parts: string[] = [];
    if (this.pointRangeForPbx) {
      // MariaDB, given `pbxId = ?`, may choose `ref` access on pbxId alone and
      // walk backwards over every newer row to reach a cursor or a `to` (a deep
      // page then costs O(rows newer than it)). A one-point range on pbxId
      // cannot be `ref`, so it seeks on (pbxId, startedAt) and reads only the page.
      parts.push(`${this.q('pbxId')} >= ? AND ${this.q('pbxId')} <= ?`);
      params.push(pbxId, pbxId);
    } else {
      // SQLite extends an index range to startedAt only after an equality.
      parts.push(`${this.q('pbxId')} = ?`);
      params.push(pbxId);
    }
    if (window.from) {
      parts.push(`${started} >= ?`);
      params.push(this.instant(window.from));
    }
    if (window.to) {
      parts.push(`${started} < ?`);
      params.push(this.instant(window.to));
    }
    if (after) {
      const at = this.instant(after.startedAt);
      // The first bound is what lets the index seek straight to the cursor (both
      // engines turn it into a range); the second only drops the cursor's ties.
      parts.push(`${started} <= ? AND (${started} < ? OR ${this.q('id')} < ?)`);
      params.push(at, at, after.id);
    }
    return parts.join(' AND ');
  }

  /** A Date as the driver stores instants (a UTC string on SQLite, a Date for mysql2). */
  private instant(value: Date): unknown {
    return this.db.driver.preparePersistentValue(value, this.startedAtColumn);
  }

  private hydrate(raw: Record<string, unknown>): Recording {
    const recording = new Recording();
    for (const column of this.columns) {
      column.setEntityValue(recording, this.db.driver.prepareHydratedValue(raw[column.databaseName], column));
    }
    return recording;
  }

  private q(name: string): string {
    return this.db.driver.escape(name);
  }
}
