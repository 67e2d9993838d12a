import { DataSource, EntityManager } from 'typeorm';
import { RecordingDayCount } from './entities/recording-day-count';

/** Recordings per PBX and UTC day: the bookkeeping behind a cheap totalCount. */

const DAY_MS = 24 * 3600 * 1000;

/** The UTC day an instant falls on, as the day-count table keys it. */
export const dayKey = (instant: Date): string => instant.toISOString().slice(0, 10);

/** The midnight (UTC) at or before an instant. */
export const floorDay = (instant: Date): Date => new Date(Math.floor(instant.getTime() / DAY_MS) * DAY_MS);

/** The midnight (UTC) at or after an instant. */
export const ceilDay = (instant: Date): Date => new Date(Math.ceil(instant.getTime() / DAY_MS) * DAY_MS);

/** Rows per INSERT of counts (3 parameters each). */
const UPSERT_CHUNK = 500;

/**
 * Adds newly inserted recordings to their days' counts, in the caller's
 * transaction. Keys go in sorted order, so two transactions adding to the
 * same days lock them in the same order (no deadlock), and each increment is
 * one atomic upsert, so concurrent writers never lose one another's counts.
 */
export async function addToDayCounts(em: EntityManager, recordings: readonly { pbxId: string; startedAt: Date }[]): Promise<void> {
  if (!recordings.length) return;
  const counts = new Map<string, number>();
  for (const r of recordings) {
    const key = `${r.pbxId}\u0000${dayKey(r.startedAt)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const rows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, n]) => [...key.split('\u0000'), n]);
  const q = (name: string) => em.connection.driver.escape(name);
  const table = q(em.connection.getMetadata(RecordingDayCount).tableName);
  const mysql = em.connection.options.type === 'mysql' || em.connection.options.type === 'mariadb';
  const onConflict = mysql
    ? `ON DUPLICATE KEY UPDATE ${q('recordings')} = ${q('recordings')} + VALUES(${q('recordings')})`
    : `ON CONFLICT (${q('pbxId')}, ${q('day')}) DO UPDATE SET ${q('recordings')} = ${table}.${q('recordings')} + excluded.${q('recordings')}`;
  for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
    const chunk = rows.slice(i, i + UPSERT_CHUNK);
    await em.query(
      `INSERT INTO ${table} (${q('pbxId')}, ${q('day')}, ${q('recordings')}) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')} ${onConflict}`,
      chunk.flat(),
    );
  }
}

/** The SQL expression of a recording's UTC day (instants are stored in UTC on both engines). */
export function dayExpression(db: DataSource | EntityManager, column: string): string {
  const type = (db instanceof DataSource ? db : db.connection).options.type;
  // SQLite keeps instants as 'YYYY-MM-DD HH:MM:SS.SSS' text; MariaDB/MySQL as DATETIME(3).
  return type === 'mysql' || type === 'mariadb' ? `DATE_FORMAT(${column}, '%Y-%m-%d')` : `substr(${column}, 1, 10)`;
}

/**
 * Recounts the days of the given PBXs (all PBXs when none are given) from the
 * recordings themselves: for data written around insertRecordingRows (the
 * benchmark's bulk load) and for repair. Not for concurrent use with writers.
 */
export async function rebuildDayCounts(em: EntityManager, pbxIds?: readonly string[]): Promise<void> {
  const q = (name: string) => em.connection.driver.escape(name);
  const table = q(em.connection.getMetadata(RecordingDayCount).tableName);
  const only = pbxIds ? ` WHERE ${q('pbxId')} IN (${pbxIds.map(() => '?').join(', ')})` : '';
  if (pbxIds && !pbxIds.length) return;
  await em.query(`DELETE FROM ${table}${only}`, pbxIds ? [...pbxIds] : []);
  const day = dayExpression(em, q('startedAt'));
  await em.query(
    `INSERT INTO ${table} (${q('pbxId')}, ${q('day')}, ${q('recordings')}) ` +
      `SELECT ${q('pbxId')}, ${day}, COUNT(*) FROM ${q('recording')}${only} GROUP BY ${q('pbxId')}, ${day}`,
    pbxIds ? [...pbxIds] : [],
  );
}
