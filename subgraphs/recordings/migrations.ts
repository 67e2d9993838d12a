import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { col } from '../../kernel/columns';

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
    const day =
      q.connection.options.type === 'mysql' || q.connection.options.type === 'mariadb'
        ? "DATE_FORMAT(`startedAt`, '%Y-%m-%d')"
        : 'substr("startedAt", 1, 10)';
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

export const RECORDINGS_MIGRATIONS = [CreateRecordingTables1700000000300, AddRecordingDayCounts1700000000301];
