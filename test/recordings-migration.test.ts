import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../kernel/config';
import { openDatabase } from '../kernel/database';
import { sourcePathHash } from '../kernel/objectstore/store';
import { RecordingDayCount } from '../subgraphs/recordings/entities/recording-day-count';
import { Recording } from '../subgraphs/recordings/entities/recording';
import { RECORDINGS_MIGRATIONS } from '../subgraphs/recordings/migrations';
import { insertRecordingRows } from '../subgraphs/recordings/recordings';
import { MYSQL_URL, TEST_DB } from './support/harness';

// Migration 302 on a database that already holds recordings: their paths get their SHA-256, which then identifies them.
const name = `cds_mig302_${process.pid}`;
const db: DatabaseConfig =
  TEST_DB === 'mysql' ? { kind: 'mysql', url: `${MYSQL_URL}/${name}` } : { kind: 'sqlite', file: `/tmp/${name}.sqlite` };
const path = 'recordings/2024/05/ä ü/call-1.wav';
let ds: DataSource | null = null;

afterAll(async () => {
  await ds?.destroy();
  if (TEST_DB === 'mysql') {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await connection.end();
  } else {
    const fs = await import('node:fs');
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`/tmp/${name}.sqlite${suffix}`, { force: true });
  }
});

it('backfills sourcePathHash of existing rows; the same file registered again stays one row; an 810-character (1,600-byte) path fits', async () => {
  const before = await openDatabase({ db, entities: [], migrations: RECORDINGS_MIGRATIONS.slice(0, 2) });
  const e = (n: string) => before.driver.escape(n);
  const cols = ['id', 'pbxId', 'callId', 'startedAt', 'durationSeconds', 'sizeBytes', 'location', 'sourcePath', 'createdAt'];
  await before.query(`INSERT INTO ${e('recording')} (${cols.map(e).join(', ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    randomUUID(),
    'a90000000001',
    'c1',
    '2024-05-01 10:00:00.000',
    10,
    100,
    'LOCAL',
    path,
    '2024-05-01 10:00:00.000',
  ]);
  await before.destroy();

  ds = await openDatabase({ db, entities: [Recording, RecordingDayCount], migrations: RECORDINGS_MIGRATIONS });
  const [row] = await ds.getRepository(Recording).find();
  expect(row.sourcePathHash).toBe(sourcePathHash(path));

  const again = (sourcePath: string) =>
    ds!.getRepository(Recording).create({
      id: randomUUID(),
      pbxId: 'a90000000001',
      callId: 'c1',
      startedAt: new Date('2024-05-01T10:00:00Z'),
      durationSeconds: 10,
      sizeBytes: 100,
      caller: null,
      callee: null,
      location: row.location,
      localCopyExpiresAt: null,
      sha256: null,
      objectKey: null,
      sourcePath,
      sourcePathHash: null,
      migrationId: null,
      createdAt: new Date(),
    });
  expect(await ds.transaction((em) => insertRecordingRows(em, [again(path)]))).toHaveLength(0);
  const long = `recordings/${'ö'.repeat(800)}.wav`;
  expect(await ds.transaction((em) => insertRecordingRows(em, [again(long), again(long)]))).toHaveLength(1);
  expect((await ds.getRepository(Recording).findOneByOrFail({ sourcePathHash: sourcePathHash(long) })).sourcePath).toBe(long);
});
