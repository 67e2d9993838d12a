import { DataSource } from 'typeorm';
import { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { badInput } from '../../kernel/errors';
import { decodeCursor } from '../../kernel/graphql/connection';
import { ceilDay, dayKey, floorDay } from './day-counts';
import { Recording } from './entities/recording';
import { RecordingDayCount } from './entities/recording-day-count';
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

/**
 * One PBX's page by position (the REST compatibility endpoint): `rows`
 * recordings in `window`, newest first, skipping the first `offset`.
 */
export interface RecordingOffsetRequest {
  pbxId: string;
  window: RecordingWindow;
  offset: number;
  rows: number;
}

export interface RecordingCountRequest {
  pbxId: string;
  window: RecordingWindow;
}

/**
 * Below this offset a page is walked in the index directly (a millisecond at
 * most); from it on, whole days are first skipped by their counts.
 */
export const DAY_SEEK_MIN_OFFSET = 2_000;

/** The sort key of a recording, as it goes into a cursor (milliseconds, id). */
export const sortKeyOf = (recording: Pick<Recording, 'startedAt' | 'id'>): (string | number)[] => [
  recording.startedAt.getTime(),
  recording.id,
];

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
  private readonly dayTable: string;
  private readonly pointRangeForPbx: boolean;

  constructor(private readonly db: DataSource) {
    const metadata = db.getMetadata(Recording);
    this.columns = metadata.columns;
    this.startedAtColumn = metadata.findColumnWithPropertyName('startedAt')!;
    this.table = this.q(metadata.tableName);
    this.dayTable = this.q(db.getMetadata(RecordingDayCount).tableName);
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

  /**
   * Pages by position, for any number of PBXs in two statements at most,
   * each page newest first. An offset has to be walked; two things keep the
   * walk short. Whole UTC days newer than the page are skipped by their
   * recording_day_count rows (seekPastWholeDays), so what is left to walk
   * lies within one day. What is left is walked index-only (a "deferred join":
   * skipped inside (pbxId, startedAt, id), which holds every column it
   * needs, and only the page's own rows are then read from the table by id).
   */
  async offsetPages(requests: readonly RecordingOffsetRequest[]): Promise<Recording[][]> {
    if (!requests.length) return [];
    const { sql, params } = this.offsetStatement(await this.seekPastWholeDays(requests));
    const raw = await this.db.query<Record<string, unknown>[]>(sql, params);
    const pages = requests.map((): Recording[] => []);
    for (const row of raw) pages[Number(row.pageKey)]?.push(this.hydrate(row));
    for (const page of pages) page.sort(compareNewestFirst);
    return pages;
  }

  /**
   * The same pages with their offsets made short: for each request whose
   * offset reaches past the newest day of its window, the newest whole days
   * that lie entirely before the page (by their day counts, plus an exact
   * count of the partial day at the window's `to`) become an upper bound
   * (`to` = the midnight the page starts before) and leave the offset. One
   * statement for all requests; requests with small offsets pass unchanged.
   * Public so tests and the benchmark can see what runs.
   */
  async seekPastWholeDays(requests: readonly RecordingOffsetRequest[]): Promise<RecordingOffsetRequest[]> {
    const params: unknown[] = [];
    const parts: string[] = [];
    const plans = requests.map((request, k) => {
      if (request.offset < DAY_SEEK_MIN_OFFSET) return null;
      const { from, to } = request.window;
      const firstDay = from ? ceilDay(from) : null;
      const endDay = to ? floorDay(to) : null;
      if (firstDay && endDay && firstDay.getTime() >= endDay.getTime()) return null; // no whole day to skip
      const conditions = this.wholeDays(request.pbxId, firstDay, endDay, params);
      parts.push(
        `SELECT ${k} AS ${this.q('pageKey')}, ${this.q('day')}, ${this.q('recordings')} AS ${this.q('n')} FROM ${this.dayTable} WHERE ${conditions.join(' AND ')}`,
      );
      // The partial day at `to` (from its midnight, or from `from` when that is later) is counted row by row.
      const partialFrom = endDay && from && from.getTime() > endDay.getTime() ? from : endDay;
      if (to && partialFrom && partialFrom.getTime() < to.getTime()) {
        parts.push(
          `SELECT ${k}, NULL, COUNT(*) FROM ${this.table} WHERE ${this.where(request.pbxId, { from: partialFrom, to }, null, params)}`,
        );
      }
      return { newestPartial: 0, days: [] as { day: string; n: number }[] };
    });
    if (!parts.length) return [...requests];
    const rows = await this.db.query<{ pageKey: number | string; day: string | null; n: number | string }[]>(
      parts.join(' UNION ALL '),
      params,
    );
    for (const row of rows) {
      const plan = plans[Number(row.pageKey)];
      if (!plan) continue;
      if (row.day === null) plan.newestPartial = Number(row.n);
      else plan.days.push({ day: row.day, n: Number(row.n) });
    }
    return requests.map((request, k) => {
      const plan = plans[k];
      if (!plan) return request;
      let skipped = plan.newestPartial;
      let before: string | null = null;
      if (skipped > request.offset) return request;
      for (const { day, n } of plan.days.sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0))) {
        if (skipped + n > request.offset) break;
        skipped += n;
        before = day;
      }
      if (before === null) return request;
      // Everything from that midnight on is behind the page: bound the window there and walk only the rest.
      return {
        ...request,
        window: { from: request.window.from, to: new Date(`${before}T00:00:00.000Z`) },
        offset: request.offset - skipped,
      };
    });
  }

  /** Counts per request in one statement (see countStatement). */
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
      if (!Number.isSafeInteger(request.rows) || request.rows < 1)
        throw new Error(`page size must be a positive integer (got ${request.rows})`);
      const where = this.where(request.pbxId, request.window, request.after, params);
      return (
        `SELECT ${k} AS ${this.q('pageKey')}, ${this.q(`p${k}`)}.* FROM ` +
        `(SELECT ${selectList} FROM ${this.table} WHERE ${where} ORDER BY ${order} LIMIT ${request.rows}) ${this.q(`p${k}`)}`
      );
    });
    return { sql: parts.join(' UNION ALL '), params };
  }

  /** The SQL of `offsetPages` (public so tests and the benchmark can EXPLAIN it). */
  offsetStatement(requests: readonly RecordingOffsetRequest[]): Statement {
    const params: unknown[] = [];
    const selectList = this.columns.map((c) => `${this.q('r')}.${this.q(c.databaseName)}`).join(', ');
    const order = `${this.q('pbxId')} DESC, ${this.q('startedAt')} DESC, ${this.q('id')} DESC`;
    const parts = requests.map((request, k) => {
      if (!Number.isSafeInteger(request.rows) || request.rows < 1)
        throw new Error(`page size must be a positive integer (got ${request.rows})`);
      if (!Number.isSafeInteger(request.offset) || request.offset < 0)
        throw new Error(`offset must be a whole number, 0 or more (got ${request.offset})`);
      const where = this.where(request.pbxId, request.window, null, params);
      const keys = this.q(`k${k}`);
      // The derived table selects only index columns, so both engines skip the offset in the index alone.
      return (
        `SELECT ${k} AS ${this.q('pageKey')}, ${selectList} FROM ${this.table} ${this.q('r')} INNER JOIN ` +
        `(SELECT ${this.q('id')} FROM ${this.table} WHERE ${where} ORDER BY ${order} LIMIT ${request.rows} OFFSET ${request.offset}) ${keys} ` +
        `ON ${this.q('r')}.${this.q('id')} = ${keys}.${this.q('id')}`
      );
    });
    return { sql: parts.join(' UNION ALL '), params };
  }

  /**
   * The SQL of `counts`. Counting rows costs O(matching rows) (a quarter of
   * a second for a million on MariaDB), so whole UTC days inside the window
   * are summed from recording_day_count instead, and only the rows of the
   * partial days at its edges are counted in the (pbxId, startedAt, id)
   * index: the cost is O(days + rows of at most two days), the same for a PBX
   * with 1,000 recordings as for one with 1,000,000.
   */
  countStatement(requests: readonly RecordingCountRequest[]): Statement {
    const params: unknown[] = [];
    const parts = requests.map(
      (request, k) => `SELECT ${k} AS ${this.q('pageKey')}, ${this.countExpression(request, params)} AS ${this.q('n')}`,
    );
    return { sql: parts.join(' UNION ALL '), params };
  }

  private countExpression({ pbxId, window }: RecordingCountRequest, params: unknown[]): string {
    const rows = (part: RecordingWindow) => `(SELECT COUNT(*) FROM ${this.table} WHERE ${this.where(pbxId, part, null, params)})`;
    // The whole days of the window: [first midnight at or after `from`, last midnight at or before `to`).
    const firstDay = window.from ? ceilDay(window.from) : null;
    const endDay = window.to ? floorDay(window.to) : null;
    if (firstDay && endDay && firstDay.getTime() >= endDay.getTime()) return rows(window); // no whole day inside
    const conditions = this.wholeDays(pbxId, firstDay, endDay, params);
    const terms = [`(SELECT COALESCE(SUM(${this.q('recordings')}), 0) FROM ${this.dayTable} WHERE ${conditions.join(' AND ')})`];
    if (window.from && firstDay && window.from.getTime() < firstDay.getTime()) terms.push(rows({ from: window.from, to: firstDay }));
    if (window.to && endDay && endDay.getTime() < window.to.getTime()) terms.push(rows({ from: endDay, to: window.to }));
    return terms.join(' + ');
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

  /** WHERE terms (and their parameters, appended) for a PBX's day counts from `firstDay` up to, not including, `endDay`. */
  private wholeDays(pbxId: string, firstDay: Date | null, endDay: Date | null, params: unknown[]): string[] {
    const conditions = [`${this.q('pbxId')} = ?`];
    params.push(pbxId);
    if (firstDay) {
      conditions.push(`${this.q('day')} >= ?`);
      params.push(dayKey(firstDay));
    }
    if (endDay) {
      conditions.push(`${this.q('day')} < ?`);
      params.push(dayKey(endDay));
    }
    return conditions;
  }

  private q(name: string): string {
    return this.db.driver.escape(name);
  }
}
