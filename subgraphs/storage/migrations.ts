import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { col } from '../../kernel/columns';

export class CreateStorageTables1700000000200 implements MigrationInterface {
  name = 'CreateStorageTables1700000000200';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'cds_status',
        columns: [
          col.id('pbxId', 64),
          col.string('state', 24),
          col.string('region', 32, true),
          col.instant('activatedAt', true),
          col.bytes('usedBytes'),
          col.int('revision'),
        ],
      }),
    );
    // No foreign key to cds_status: a PBX may have usage before its status row is first written.
    await q.createTable(
      new Table({
        name: 'cds_usage',
        columns: [col.id('pbxId', 64), col.id('category', 24), col.bytes('usedBytes'), col.int('itemCount')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'migration',
        columns: [
          col.id('id', 36),
          col.string('pbxId', 64),
          col.string('status', 16),
          col.string('trigger', 16),
          col.string('region', 32),
          col.text('error', true),
          col.int('itemsTotal'),
          col.int('itemsDone'),
          col.bytes('bytesTotal'),
          col.bytes('bytesDone'),
          col.instant('startedAt'),
          col.instant('finishedAt', true),
          col.instant('createdAt'),
        ],
        // A PBX's migrations are listed newest first.
        indices: [{ name: 'IX_migration_pbx_created', columnNames: ['pbxId', 'createdAt'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'migration_category',
        columns: [
          col.id('migrationId', 36),
          col.id('category', 24),
          col.string('state', 24),
          col.int('itemsTotal'),
          col.int('itemsDone'),
          col.bytes('bytesTotal'),
          col.bytes('bytesDone'),
        ],
        foreignKeys: [
          { columnNames: ['migrationId'], referencedTableName: 'migration', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('migration_category');
    await q.dropTable('migration');
    await q.dropTable('cds_usage');
    await q.dropTable('cds_status');
  }
}

/** Issue 3: verified CDS objects and the agent run that holds a migration. */
export class AddCdsObjectsAndRuns1700000000201 implements MigrationInterface {
  name = 'AddCdsObjectsAndRuns1700000000201';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'cds_object',
        columns: [
          col.serial('seq'),
          col.string('pbxId', 64),
          col.string('category', 24),
          col.text('sourcePath'),
          col.string('pathHash', 64),
          col.text('objectKey'),
          col.bytes('sizeBytes'),
          col.string('sha256', 64),
          col.string('migrationId', 36),
          col.instant('verifiedAt'),
        ],
        indices: [{ name: 'UQ_cds_object_item', columnNames: ['pbxId', 'category', 'pathHash'], isUnique: true }],
      }),
    );
    await q.addColumn('migration', new TableColumn(col.string('runToken', 36, true)));
    await q.addColumn('migration', new TableColumn(col.instant('leaseExpiresAt', true)));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('migration', 'leaseExpiresAt');
    await q.dropColumn('migration', 'runToken');
    await q.dropTable('cds_object');
  }
}

/** Counting a migration's confirmed objects reads this index, not every object of the PBX. */
export class IndexCdsObjectsByMigration1700000000202 implements MigrationInterface {
  name = 'IndexCdsObjectsByMigration1700000000202';
  async up(q: QueryRunner): Promise<void> {
    await q.createIndex(
      'cds_object',
      new TableIndex({ name: 'IX_cds_object_migration', columnNames: ['pbxId', 'migrationId', 'category'] }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('cds_object', 'IX_cds_object_migration');
  }
}

/** Issue 9: what the agent skipped in the source tree, kept with the migration. */
export class AddMigrationSkipped1700000000203 implements MigrationInterface {
  name = 'AddMigrationSkipped1700000000203';
  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('migration', new TableColumn(col.text('skippedJson', true)));
    await q.addColumn('migration', new TableColumn(col.int('skippedCount')));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('migration', 'skippedCount');
    await q.dropColumn('migration', 'skippedJson');
  }
}

export const STORAGE_MIGRATIONS = [
  CreateStorageTables1700000000200,
  AddCdsObjectsAndRuns1700000000201,
  IndexCdsObjectsByMigration1700000000202,
  AddMigrationSkipped1700000000203,
];
