import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { col } from '../../kernel/columns';

export class CreateStorageTables1700000000200 implements MigrationInterface {
  name = 'CreateStorageTables1700000000200';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'cds_status',
      columns: [
        col.id('pbxId', 64), col.string('state', 24), col.string('region', 32, true), col.instant('activatedAt', true),
        col.bytes('usedBytes'), col.int('revision'),
      ],
    }));
    // No foreign key to cds_status: a PBX may have usage before its status row is first written.
    await q.createTable(new Table({
      name: 'cds_usage',
      columns: [col.id('pbxId', 64), col.id('category', 24), col.bytes('usedBytes'), col.int('itemCount')],
    }));
    await q.createTable(new Table({
      name: 'migration',
      columns: [
        col.id('id', 36), col.string('pbxId', 64), col.string('status', 16), col.string('trigger', 16), col.string('region', 32),
        col.text('error', true), col.int('itemsTotal'), col.int('itemsDone'), col.bytes('bytesTotal'), col.bytes('bytesDone'),
        col.instant('startedAt'), col.instant('finishedAt', true), col.instant('createdAt'),
      ],
      // A PBX's migrations are listed newest first.
      indices: [{ name: 'IX_migration_pbx_created', columnNames: ['pbxId', 'createdAt'] }],
    }));
    await q.createTable(new Table({
      name: 'migration_category',
      columns: [
        col.id('migrationId', 36), col.id('category', 24), col.string('state', 24),
        col.int('itemsTotal'), col.int('itemsDone'), col.bytes('bytesTotal'), col.bytes('bytesDone'),
      ],
      foreignKeys: [{ columnNames: ['migrationId'], referencedTableName: 'migration', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
    }));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('migration_category');
    await q.dropTable('migration');
    await q.dropTable('cds_usage');
    await q.dropTable('cds_status');
  }
}

export const STORAGE_MIGRATIONS = [CreateStorageTables1700000000200];
