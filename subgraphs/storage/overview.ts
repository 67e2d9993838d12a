import { DataSource } from 'typeorm';
import { CdsState, DataCategory, MigrationStatus } from '../../kernel/domain/enums';
import { DATA_CATEGORIES } from './rules';

/** Fleet-wide CDS figures (the analysts' overview), every state, category and status listed, zeros included. */
export interface CdsOverviewFigures {
  /** the region asked for; null for the whole fleet */
  region: string | null;
  pbxCount: number;
  usedBytes: number;
  byState: { state: CdsState; pbxCount: number }[];
  byCategory: { category: DataCategory; usedBytes: number; itemCount: number }[];
  migrationsByStatus: { status: MigrationStatus; count: number }[];
}

const CDS_STATES = Object.values(CdsState);
const MIGRATION_STATUSES = Object.values(MigrationStatus);

type Row = { kind: string; k: string; n: string | number | null; bytes: string | number | null };

/**
 * Computes the overview in the database, as one statement (three GROUP BYs
 * glued with UNION ALL), so its figures come from one snapshot and agree
 * with each other, and its cost does not grow with requests per PBX.
 *
 * The PBXs are those of the directory replica (what the network subgraph
 * registered); `region` is the PBX's region there. Each PBX counts with what
 * PbxDetails shows for it: its cds_status row (none: NOT_ACTIVATED with 0
 * bytes, as `Pbx.cds` answers), its cds_usage rows (`usageByCategory`) and
 * its migrations (`Pbx.migrations`). `usedBytes` is the sum of the PBXs'
 * `cds.usedBytes`, which storage keeps equal to the sum of their categories.
 */
export async function cdsOverview(db: DataSource, region: string | null): Promise<CdsOverviewFigures> {
  const q = (name: string) => db.driver.escape(name);
  const params: unknown[] = [];
  const inRegion = () => {
    if (region === null) return '';
    params.push(region);
    return ` WHERE ${q('d')}.${q('region')} = ?`;
  };
  const d = `${q('directory_pbx')} ${q('d')}`;
  const pbx = `${q('d')}.${q('id')}`;
  // An enum constant, inlined: the SELECT and GROUP BY expressions must be the same text for MySQL's ONLY_FULL_GROUP_BY.
  const state = `COALESCE(${q('s')}.${q('state')}, '${CdsState.NOT_ACTIVATED}')`;
  const sql = [
    `SELECT 's' AS ${q('kind')}, ${state} AS ${q('k')}, COUNT(*) AS ${q('n')}, COALESCE(SUM(${q('s')}.${q('usedBytes')}), 0) AS ${q('bytes')} ` +
      `FROM ${d} LEFT JOIN ${q('cds_status')} ${q('s')} ON ${q('s')}.${q('pbxId')} = ${pbx}${inRegion()} GROUP BY ${state}`,
    `SELECT 'c', ${q('u')}.${q('category')}, COALESCE(SUM(${q('u')}.${q('itemCount')}), 0), COALESCE(SUM(${q('u')}.${q('usedBytes')}), 0) ` +
      `FROM ${d} INNER JOIN ${q('cds_usage')} ${q('u')} ON ${q('u')}.${q('pbxId')} = ${pbx}${inRegion()} GROUP BY ${q('u')}.${q('category')}`,
    `SELECT 'm', ${q('m')}.${q('status')}, COUNT(*), 0 ` +
      `FROM ${d} INNER JOIN ${q('migration')} ${q('m')} ON ${q('m')}.${q('pbxId')} = ${pbx}${inRegion()} GROUP BY ${q('m')}.${q('status')}`,
  ].join(' UNION ALL ');
  const rows = await db.query<Row[]>(sql, params);

  const of = (kind: string) =>
    new Map(rows.filter((r) => r.kind === kind).map((r) => [r.k, { n: Number(r.n ?? 0), bytes: Number(r.bytes ?? 0) }]));
  const states = of('s');
  const categories = of('c');
  const migrations = of('m');
  const byState = CDS_STATES.map((s) => ({ state: s, pbxCount: states.get(s)?.n ?? 0 }));
  return {
    region,
    pbxCount: byState.reduce((sum, s) => sum + s.pbxCount, 0),
    usedBytes: [...states.values()].reduce((sum, s) => sum + s.bytes, 0),
    byState,
    byCategory: DATA_CATEGORIES.map((category) => ({
      category,
      usedBytes: categories.get(category)?.bytes ?? 0,
      itemCount: categories.get(category)?.n ?? 0,
    })),
    migrationsByStatus: MIGRATION_STATUSES.map((status) => ({ status, count: migrations.get(status)?.n ?? 0 })),
  };
}
