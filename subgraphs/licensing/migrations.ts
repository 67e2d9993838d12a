import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { col } from '../../kernel/columns';

export class CreateLicensingTables1700000000400 implements MigrationInterface {
  name = 'CreateLicensingTables1700000000400';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'bundle_tier',
        columns: [
          col.id('code', 32),
          col.int('rank'),
          col.bytes('storageBytes'),
          col.int('analyticsRetentionMonths'),
          col.int('staticIpAllowance', null),
          col.bool('standaloneOnly'),
          col.int('maxNetworkPbxs', null),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'bundle_holding',
        // (holderType, holderId) is the key: one bundle per holder, enforced by the database.
        columns: [
          col.id('holderType', 16),
          col.id('holderId', 64),
          col.string('tierCode', 32),
          col.string('source', 32),
          col.instant('effectiveFrom'),
          col.instant('updatedAt'),
        ],
        indices: [{ name: 'IX_bundle_holding_tier', columnNames: ['tierCode'] }],
        foreignKeys: [{ columnNames: ['tierCode'], referencedTableName: 'bundle_tier', referencedColumnNames: ['code'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'legacy_license',
        columns: [col.id('pbxId', 64), col.int('count'), col.instant('updatedAt')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'static_ip_address',
        columns: [col.id('address', 15), col.string('region', 32), col.string('pbxId', 64, true), col.instant('assignedAt', true)],
        indices: [
          // Rule 8, "an address is never held by two PBXs" is the primary key; "at most one per PBX" is this.
          { name: 'UQ_static_ip_pbx', columnNames: ['pbxId'], isUnique: true },
          { name: 'IX_static_ip_region_free', columnNames: ['region', 'pbxId'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'pbx_usage',
        columns: [col.id('pbxId', 64), col.bytes('usedBytes'), col.int('revision')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'usage_alert',
        columns: [
          col.id('holderType', 16),
          col.id('holderId', 64),
          col.bool('raised'),
          col.instant('raisedAt', true),
          col.instant('clearedAt', true),
        ],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('usage_alert');
    await q.dropTable('pbx_usage');
    await q.dropTable('static_ip_address');
    await q.dropTable('legacy_license');
    await q.dropTable('bundle_holding');
    await q.dropTable('bundle_tier');
  }
}

const GB = 1_000_000_000;

/**
 * The catalogue of DOMAIN.md rule 7 as it stood when bundles were introduced.
 * A later change to the catalogue is a new migration that updates these rows;
 * this one stays as it ran. Booleans as 0/1, which both databases store for a boolean column.
 */
const CATALOGUE = [
  {
    code: 'DEFAULT',
    rank: 0,
    storageBytes: 5 * GB,
    analyticsRetentionMonths: 3,
    staticIpAllowance: 0,
    standaloneOnly: 0,
    maxNetworkPbxs: null,
  },
  {
    code: 'CDS-10',
    rank: 1,
    storageBytes: 10 * GB,
    analyticsRetentionMonths: 12,
    staticIpAllowance: 1,
    standaloneOnly: 1,
    maxNetworkPbxs: null,
  },
  {
    code: 'CDS-50',
    rank: 2,
    storageBytes: 50 * GB,
    analyticsRetentionMonths: 60,
    staticIpAllowance: 5,
    standaloneOnly: 0,
    maxNetworkPbxs: 5,
  },
  // null allowance: every PBX of the network (rule 7)
  {
    code: 'CDS-500',
    rank: 3,
    storageBytes: 500 * GB,
    analyticsRetentionMonths: 120,
    staticIpAllowance: null,
    standaloneOnly: 0,
    maxNetworkPbxs: null,
  },
  {
    code: 'CDS-5000',
    rank: 4,
    storageBytes: 5000 * GB,
    analyticsRetentionMonths: 120,
    staticIpAllowance: null,
    standaloneOnly: 0,
    maxNetworkPbxs: null,
  },
];

export class InsertBundleTierCatalogue1700000000401 implements MigrationInterface {
  name = 'InsertBundleTierCatalogue1700000000401';
  async up(q: QueryRunner): Promise<void> {
    // Plain SQL with literal values: independent of the entity classes as they may later change,
    // and the 0/1 booleans reach both drivers untouched (TypeORM would recast them by entity metadata).
    const escape = (name: string) => q.connection.driver.escape(name);
    const literal = (value: string | number | null) => (value === null ? 'NULL' : typeof value === 'number' ? String(value) : `'${value}'`);
    const columns = Object.keys(CATALOGUE[0]) as (keyof (typeof CATALOGUE)[number])[];
    const rows = CATALOGUE.map((tier) => `(${columns.map((c) => literal(tier[c])).join(', ')})`);
    await q.query(`INSERT INTO ${escape('bundle_tier')} (${columns.map(escape).join(', ')}) VALUES ${rows.join(', ')}`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.manager
      .createQueryBuilder()
      .delete()
      .from('bundle_tier')
      .where('code IN (:...codes)', { codes: CATALOGUE.map((t) => t.code) })
      .execute();
  }
}

export class CreateHolderLockTable1700000000402 implements MigrationInterface {
  name = 'CreateHolderLockTable1700000000402';
  async up(q: QueryRunner): Promise<void> {
    // The row a licensing command locks for its holder (see entities/holder-lock.ts).
    await q.createTable(new Table({ name: 'holder_lock', columns: [col.id('holderType', 16), col.id('holderId', 64)] }));
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('holder_lock');
  }
}

export const LICENSING_MIGRATIONS = [
  CreateLicensingTables1700000000400,
  InsertBundleTierCatalogue1700000000401,
  CreateHolderLockTable1700000000402,
];
