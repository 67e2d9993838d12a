import { BundleSource } from '../../kernel/domain/enums';
import { normalizeRegion } from '../../kernel/domain/rules';
import { DirectoryNetwork, DirectoryPbx, networkOwnership, pbxOwnership } from '../../kernel/directory';
import { badInput, conflict } from '../../kernel/errors';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { BundleHolding } from './entities/bundle-holding';
import { BundleTier } from './entities/bundle-tier';
import { Bundle } from './entities/holder-views';
import { holdingsIn, networkPbxCountsIn } from './holder-facts';
import { DEFAULT_TIER_CODE, heldBundle, Holder, holderKey, HolderType, networkHolder, refusalToHold, standalonePbxHolder } from './holders';
import { LicensingLoaders } from './loaders';
import { evaluateUsageAlerts } from './usage-alerts';
import { LicensingWrites } from './writes';

export interface OrderBundleCommand {
  networkId?: string | null;
  pbxId?: string | null;
  code: string;
}

export interface BundleDistributionRow {
  tier: BundleTier;
  networks: number;
  standalonePbxs: number;
}

/**
 * Ordering bundles (rule 7) and the fleet's distribution over the tiers.
 * A refused order changes nothing and says why.
 */
export class BundleService {
  constructor(
    private readonly runtime: SubgraphRuntime,
    private readonly writes: LicensingWrites,
  ) {}

  async orderBundle(loaders: LicensingLoaders, input: OrderBundleCommand): Promise<Bundle> {
    requireRole(loaders.scope.identity, ['admin', 'partner'], 'order bundles');
    const networkId = input.networkId?.trim() || null;
    const pbxId = input.pbxId?.trim().toLowerCase() || null;
    if ((networkId === null) === (pbxId === null)) {
      throw badInput(
        "Give exactly one of networkId (a network's bundle, shared by its PBXs) or pbxId (a standalone PBX's own bundle)",
        networkId ? 'pbxId' : 'networkId',
      );
    }
    const catalogue = await loaders.tiers();
    const code = input.code.trim().toUpperCase();
    const tier = catalogue.find(code);
    if (!tier) {
      const orderable = catalogue.tiers
        .filter((t) => t.code !== DEFAULT_TIER_CODE)
        .map((t) => t.code)
        .join(', ');
      throw badInput(`'${input.code}' is not a bundle: choose one of ${orderable}`, 'code');
    }
    const holder = await this.holderForOrder(loaders, networkId, pbxId);

    return this.writes.forHolder(holder, async (em) => {
      const pbxCount = holder.type === HolderType.NETWORK ? ((await networkPbxCountsIn(em, [holder.id])).get(holder.id) ?? 0) : 1;
      const refusal = refusalToHold(tier, holder, pbxCount);
      if (refusal) throw conflict(`Bundle not ordered: ${refusal}.`);
      const current = (await holdingsIn(em, [holder])).get(holderKey(holder)) ?? null;
      // Ordering the bundle one already ordered changes nothing (a repeated click, a retried request).
      if (current?.tierCode === tier.code && current.source === BundleSource.ORDERED)
        return heldBundle(holder, current, catalogue, pbxCount);
      const now = new Date();
      const holding: BundleHolding = {
        holderType: holder.type,
        holderId: holder.id,
        tierCode: tier.code,
        source: BundleSource.ORDERED,
        effectiveFrom: now,
        updatedAt: now,
      };
      await em.upsert(BundleHolding, holding, ['holderType', 'holderId']);
      // The capacity changed: the usage alert may now be due, or over.
      await evaluateUsageAlerts(em, this.runtime.emit, [holder], now);
      return heldBundle(holder, holding, catalogue, pbxCount);
    });
  }

  /** The holder an order is for, after the caller's right to act on it is checked. */
  private async holderForOrder(loaders: LicensingLoaders, networkId: string | null, pbxId: string | null): Promise<Holder> {
    if (networkId) {
      const network = await this.runtime.directory.requireNetwork(loaders.directory, networkId);
      await loaders.scope.assertActs(networkOwnership(network), 'Network', network.id);
      return networkHolder(network.id);
    }
    const pbx = await this.runtime.directory.requirePbx(loaders.directory, pbxId ?? '');
    await loaders.scope.assertActs(pbxOwnership(pbx), 'PBX', pbx.id);
    if (pbx.networkId) {
      throw conflict(
        `PBX '${pbx.id}' is in network '${pbx.networkId}', which holds the bundle all its PBXs share; order the bundle for network '${pbx.networkId}' instead`,
      );
    }
    return standalonePbxHolder(pbx.id);
  }

  /**
   * How many networks and standalone PBXs hold each tier (DEFAULT when they
   * hold none), every tier listed. With a region: the standalone PBXs in it,
   * and the networks with at least one PBX in it. Counted by the database.
   */
  async bundleDistribution(loaders: LicensingLoaders, region: string | null | undefined): Promise<BundleDistributionRow[]> {
    requireRole(loaders.scope.identity, ['admin', 'analyst'], 'see the bundle distribution');
    const inRegion = region === null || region === undefined ? null : normalizeRegion(region);
    const db = this.runtime.db;

    const networks = db
      .getRepository(DirectoryNetwork)
      .createQueryBuilder('n')
      .leftJoin(BundleHolding, 'h', 'h.holderType = :network AND h.holderId = n.id', { network: HolderType.NETWORK })
      .select('h.tierCode', 'tier')
      .addSelect('COUNT(*)', 'n')
      .groupBy('h.tierCode');
    if (inRegion) {
      networks.where(
        (q) =>
          `EXISTS ${q.subQuery().select('1').from(DirectoryPbx, 'p').where('p.networkId = n.id').andWhere('p.region = :region').getQuery()}`,
        { region: inRegion },
      );
    }
    const standalone = db
      .getRepository(DirectoryPbx)
      .createQueryBuilder('p')
      .leftJoin(BundleHolding, 'h', 'h.holderType = :pbx AND h.holderId = p.id', { pbx: HolderType.PBX })
      .select('h.tierCode', 'tier')
      .addSelect('COUNT(*)', 'n')
      .where('p.networkId IS NULL')
      .groupBy('h.tierCode');
    if (inRegion) standalone.andWhere('p.region = :region', { region: inRegion });

    type Row = { tier: string | null; n: string | number };
    const [catalogue, networkRows, standaloneRows] = await Promise.all([
      loaders.tiers(),
      networks.getRawMany<Row>(),
      standalone.getRawMany<Row>(),
    ]);
    const tally = (rows: Row[]) => {
      const counts = new Map<string, number>();
      for (const row of rows) {
        const code = row.tier ?? DEFAULT_TIER_CODE;
        counts.set(code, (counts.get(code) ?? 0) + Number(row.n));
      }
      return counts;
    };
    const byNetwork = tally(networkRows);
    const byStandalone = tally(standaloneRows);
    return catalogue.tiers.map((tier) => ({
      tier,
      networks: byNetwork.get(tier.code) ?? 0,
      standalonePbxs: byStandalone.get(tier.code) ?? 0,
    }));
  }
}
