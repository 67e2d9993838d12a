import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { col } from '../../kernel/columns';

export class CreateNetworkTables1700000000100 implements MigrationInterface {
  name = 'CreateNetworkTables1700000000100';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({ name: 'customer', columns: [col.id('id'), col.string('name', 200), col.instant('createdAt')] }));
    await q.createTable(
      new Table({
        name: 'wms_network',
        columns: [col.id('id'), col.string('name', 200), col.string('customerId', 64), col.instant('createdAt')],
        indices: [
          { name: 'IX_wms_network_customer', columnNames: ['customerId'] },
          { name: 'IX_wms_network_name', columnNames: ['name', 'id'] },
        ],
        foreignKeys: [{ columnNames: ['customerId'], referencedTableName: 'customer', referencedColumnNames: ['id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'pbx',
        columns: [
          col.id('id'),
          col.string('name', 253),
          col.string('kind', 16),
          col.string('wmsVersion', 64),
          col.string('region', 32),
          col.string('customerId', 64),
          col.string('networkId', 64, true),
          col.int('revision', 1),
          col.instant('createdAt'),
          col.instant('updatedAt'),
        ],
        indices: [
          { name: 'IX_pbx_network', columnNames: ['networkId'] },
          { name: 'IX_pbx_customer_network', columnNames: ['customerId', 'networkId'] },
        ],
        foreignKeys: [
          { columnNames: ['customerId'], referencedTableName: 'customer', referencedColumnNames: ['id'] },
          { columnNames: ['networkId'], referencedTableName: 'wms_network', referencedColumnNames: ['id'] },
        ],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('pbx');
    await q.dropTable('wms_network');
    await q.dropTable('customer');
  }
}

export const NETWORK_MIGRATIONS = [CreateNetworkTables1700000000100];
