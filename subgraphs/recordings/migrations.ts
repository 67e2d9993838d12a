import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { col } from '../../kernel/columns';
import { sourcePathHash } from '../../kernel/objectstore/store';

export class CreateRecordingTables1700000000300 implements MigrationInterface {
  name = 'CreateRecordingTables1700000000300';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'recording',
        columns: [
          col.id('id', 36),
          col.string('pbxId', 64),
          col.string('callId', 255),
          col.instant('startedAt'),
          col.int('durationSeconds'),
          col.bytes('sizeBytes'),
          col.string('caller', 255, true),
          col.string('callee', 255, true),
          col.string('location', 24),
          col.instant('localCopyExpiresAt', true),
          col.string('sha256', 64, true),
          col.string('objectKey', 1024, true),
          // 700 characters keeps (pbxId, sourcePath) within InnoDB's 3072-byte index key in utf8mb4.
          col.string('sourcePath', 700, true),
          col.string('migrationId', 64, true),
          col.instant('createdAt'),
        ],
        indices: [
          { name: 'IX_recording_pbx_started', columnNames: ['pbxId', 'startedAt', 'id'] },
          { name: 'UQ_recording_pbx_source', columnNames: ['pbxId', 'sourcePath'], isUnique: true },
        ],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('recording');
  }
}

/** Recordings per PBX and day, so totalCount costs the same for 1,000 recordings as for 1,000,000 (backfilled from what is there). */
export class AddRecordingDayCounts1700000000301 implements MigrationInterface {
  name = 'AddRecordingDayCounts1700000000301';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'recording_day_count',
        columns: [col.id('pbxId', 64), col.id('day', 10), col.int('recordings')],
      }),
    );
    const day = isMysql(q) ? "DATE_FORMAT(`startedAt`, '%Y-%m-%d')" : 'substr("startedAt", 1, 10)';
    const e = (name: string) => q.connection.driver.escape(name);
    await q.query(
      `INSERT INTO ${e('recording_day_count')} (${e('pbxId')}, ${e('day')}, ${e('recordings')}) ` +
        `SELECT ${e('pbxId')}, ${day}, COUNT(*) FROM ${e('recording')} GROUP BY ${e('pbxId')}, ${day}`,
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('recording_day_count');
  }
}

/**
 * Issue 9: a recording's path may be as long as the file system allows, so
 * sourcePath becomes TEXT and a file is identified by (pbxId, SHA-256 of its
 * path) instead of by the path itself (which an index key cannot hold).
 * Existing rows get their hash here: MySQL's SHA2 over the utf8mb4 bytes (what
 * sourcePathHash hashes); SQLite has no SHA-256, so in batches from Node.
 */
export class HashRecordingSourcePaths1700000000302 implements MigrationInterface {
  name = 'HashRecordingSourcePaths1700000000302';
  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('recording', new TableColumn(col.string('sourcePathHash', 64, true)));
    if (isMysql(q)) {
      await q.query('UPDATE `recording` SET `sourcePathHash` = SHA2(`sourcePath`, 256) WHERE `sourcePath` IS NOT NULL');
      // One ALTER (not TypeORM's changeColumn, which drops and re-adds a column whose type changes, losing its data).
      await q.query(
        'ALTER TABLE `recording` DROP INDEX `UQ_recording_pbx_source`, MODIFY `sourcePath` TEXT NULL, ' +
          'ADD UNIQUE INDEX `UQ_recording_pbx_source_hash` (`pbxId`, `sourcePathHash`)',
      );
      return;
    }
    for (;;) {
      const rows = (await q.query(
        'SELECT "id", "sourcePath" FROM "recording" WHERE "sourcePathHash" IS NULL AND "sourcePath" IS NOT NULL LIMIT 500',
      )) as { id: string; sourcePath: string }[];
      if (!rows.length) break;
      for (const row of rows)
        await q.query('UPDATE "recording" SET "sourcePathHash" = ? WHERE "id" = ?', [sourcePathHash(row.sourcePath), row.id]);
    }
    // SQLite does not enforce varchar lengths: the column already holds any length, only the index changes.
    await q.dropIndex('recording', 'UQ_recording_pbx_source');
    await q.createIndex(
      'recording',
      new TableIndex({ name: 'UQ_recording_pbx_source_hash', columnNames: ['pbxId', 'sourcePathHash'], isUnique: true }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    // Fails on MySQL while a path longer than 700 characters is stored: nothing is truncated.
    if (isMysql(q)) {
      await q.query(
        'ALTER TABLE `recording` DROP INDEX `UQ_recording_pbx_source_hash`, MODIFY `sourcePath` VARCHAR(700) NULL, ' +
          'ADD UNIQUE INDEX `UQ_recording_pbx_source` (`pbxId`, `sourcePath`)',
      );
    } else {
      await q.dropIndex('recording', 'UQ_recording_pbx_source_hash');
      await q.createIndex(
        'recording',
        new TableIndex({ name: 'UQ_recording_pbx_source', columnNames: ['pbxId', 'sourcePath'], isUnique: true }),
      );
    }
    await q.dropColumn('recording', 'sourcePathHash');
  }
}

const isMysql = (q: QueryRunner) => q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb';

export const RECORDINGS_MIGRATIONS = [
  CreateRecordingTables1700000000300,
  AddRecordingDayCounts1700000000301,
  HashRecordingSourcePaths1700000000302,
];
