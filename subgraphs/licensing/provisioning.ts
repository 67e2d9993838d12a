import { EntityManager, In } from 'typeorm';
import { isDuplicateKeyError } from '../../kernel/database';
import { normalizeIpv4, normalizeRegion } from '../../kernel/domain/rules';
import { badInput, conflict } from '../../kernel/errors';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { LegacyLicense } from './entities/legacy-license';
import { StaticIpAddress, StaticIpPool } from './entities/static-ip-address';
import { LicensingLoaders } from './loaders';

/** Setting a PBX's legacy licences: the most a PBX could have bought. */
export const MAX_LEGACY_LICENSES = 10_000;
/** Addresses one addStaticIpPool call may carry (a /20 is 4096 addresses). */
export const MAX_POOL_ADDRESSES_PER_CALL = 4096;
/** Rows per INSERT / per IN (...) list, well inside every driver's parameter limit. */
const CHUNK = 500;

const chunks = <T>(items: readonly T[], size = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * Admin provisioning of licensing data, as the management portal does it.
 * Each command checks the caller and its input first, then changes the tables
 * in one transaction; a refused command changes nothing.
 */
export class ProvisioningService {
  constructor(private readonly runtime: SubgraphRuntime) {}

  /** Records the legacy storage licences a PBX bought before bundles (input of rule 9). */
  async setLegacyStorageLicenses(loaders: LicensingLoaders, pbxId: string, count: number): Promise<LegacyLicense> {
    requireRole(loaders.scope.identity, ['admin'], 'set legacy storage licences');
    if (!Number.isInteger(count) || count < 0 || count > MAX_LEGACY_LICENSES) {
      throw badInput(`The number of legacy storage licences must be 0 to ${MAX_LEGACY_LICENSES} (got ${count})`, 'count');
    }
    const pbx = await this.runtime.directory.requirePbx(loaders.directory, pbxId.trim().toLowerCase());
    const licence: LegacyLicense = { pbxId: pbx.id, count, updatedAt: new Date() };
    // An upsert: setting the same PBX twice, even at once, leaves one row with the last count.
    await this.runtime.transact((em) => em.upsert(LegacyLicense, licence, ['pbxId']));
    loaders.legacyLicense.clear(pbx.id);
    return licence;
  }

  /**
   * Adds addresses to a region's static-IP pool. Every address is checked
   * before anything is written; addresses already in this region's pool are
   * ignored, one already in another region's pool refuses the whole call.
   */
  async addStaticIpPool(loaders: LicensingLoaders, region: string, addresses: readonly string[]): Promise<StaticIpPool> {
    requireRole(loaders.scope.identity, ['admin'], 'add static IP pools');
    const poolRegion = normalizeRegion(region);
    if (addresses.length > MAX_POOL_ADDRESSES_PER_CALL) {
      throw badInput(
        `At most ${MAX_POOL_ADDRESSES_PER_CALL} addresses may be added in one call (got ${addresses.length}); split the list`,
        'addresses',
      );
    }
    const wanted = [...new Set(addresses.map((address) => normalizeIpv4(address)))];
    // A twin call adding the same addresses at the same moment loses on the primary key; running again sees its rows.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runtime.transact((em) => this.insertIntoPool(em, poolRegion, wanted));
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }

  private async insertIntoPool(em: EntityManager, region: string, wanted: readonly string[]): Promise<StaticIpPool> {
    const pooled: StaticIpAddress[] = [];
    for (const part of chunks(wanted)) pooled.push(...(await em.findBy(StaticIpAddress, { address: In(part) })));
    const elsewhere = pooled.filter((row) => row.region !== region);
    if (elsewhere.length) {
      const listed = elsewhere
        .slice(0, 10)
        .map((row) => `${row.address} (${row.region})`)
        .join(', ');
      const more = elsewhere.length > 10 ? ` and ${elsewhere.length - 10} more` : '';
      throw conflict(
        `Nothing was added: ${elsewhere.length} of these addresses already belong to the pool of another region: ${listed}${more}. An address belongs to one region's pool.`,
      );
    }
    const known = new Set(pooled.map((row) => row.address));
    const fresh = wanted.filter((address) => !known.has(address)).map((address) => ({ address, region, pbxId: null, assignedAt: null }));
    for (const part of chunks(fresh)) await em.insert(StaticIpAddress, part);
    return this.poolOf(em, region);
  }

  /** The size of a region's pool and how much of it is free. */
  private async poolOf(em: EntityManager, region: string): Promise<StaticIpPool> {
    const row = await em
      .createQueryBuilder(StaticIpAddress, 's')
      .select('COUNT(*)', 'size')
      .addSelect('SUM(CASE WHEN s.pbxId IS NULL THEN 1 ELSE 0 END)', 'available')
      .where('s.region = :region', { region })
      .getRawOne<{ size: string | number; available: string | number | null }>();
    return { region, size: Number(row?.size ?? 0), available: Number(row?.available ?? 0) };
  }
}
