import { EntityManager } from 'typeorm';
import { DirectoryPbx } from '../../kernel/directory';
import { BundleSource } from '../../kernel/domain/enums';
import { badInput } from '../../kernel/errors';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { BundleHolding } from './entities/bundle-holding';
import { LegacyLicense } from './entities/legacy-license';
import { holdingsIn, networkPbxCountsIn } from './holder-facts';
import {
  DEFAULT_TIER_CODE,
  Holder,
  holderKey,
  HolderType,
  LEGACY_TRANSITION_DATE,
  legacyRoundUp,
  networkHolder,
  standalonePbxHolder,
} from './holders';
import { LicensingLoaders } from './loaders';
import { evaluateUsageAlerts } from './usage-alerts';
import { chunks, LicensingWrites } from './writes';

export interface TransitionDecision {
  customerId: string;
  networkId: string | null;
  pbxId: string | null;
  pbxCount: number;
  legacyLicenses: number;
  code: string;
  rule: string;
  applied: boolean;
}

export interface TransitionReport {
  dryRun: boolean;
  changed: number;
  decisions: TransitionDecision[];
}

interface LicensedHolder {
  holder: Holder;
  customerId: string;
  legacyLicenses: number;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/**
 * Rule 9, the round-up of legacy storage licences into bundles. Every holder
 * with a legacy licence row is decided by legacyRoundUp (holders.ts) and
 * reported with the rule that decided it:
 * - licences > 0 and no ordered bundle: it gets the decided tier with source
 *   ROUND_UP_TRANSITION from `asOf` (applied);
 * - it already holds exactly that by the transition: nothing changes (a rerun);
 * - it ordered a bundle: it keeps it (applied false, the rule says why);
 * - no licences (rows of 0): DEFAULT, nothing written.
 * A real run writes every change in one transaction (holdings read FOR
 * UPDATE where the database has row locks, so an order cannot slip in between
 * the decision and the write); a dry run writes nothing.
 */
export class LegacyTransitionService {
  constructor(
    private readonly runtime: SubgraphRuntime,
    private readonly writes: LicensingWrites,
  ) {}

  async run(loaders: LicensingLoaders, asOf: Date, dryRun: boolean): Promise<TransitionReport> {
    requireRole(loaders.scope.identity, ['admin'], 'run the legacy licence transition');
    if (Number.isNaN(asOf.getTime()) || asOf < LEGACY_TRANSITION_DATE) {
      throw badInput(`The legacy transition takes effect on ${day(LEGACY_TRANSITION_DATE)}; asOf must be that day or later`, 'asOf');
    }
    return this.writes.transact((em) => this.decideAndApply(em, asOf, dryRun));
  }

  private async decideAndApply(em: EntityManager, asOf: Date, dryRun: boolean): Promise<TransitionReport> {
    const licensed = await this.licensedHolders(em);
    const holders = licensed.map((l) => l.holder);
    const holdings = await holdingsIn(em, holders, (q) => (dryRun ? q : this.writes.forUpdate(q)));
    const pbxCounts = await networkPbxCountsIn(
      em,
      holders.filter((h) => h.type === HolderType.NETWORK).map((h) => h.id),
    );

    const decisions: TransitionDecision[] = [];
    const writes: BundleHolding[] = [];
    for (const { holder, customerId, legacyLicenses } of licensed) {
      const pbxCount = holder.type === HolderType.NETWORK ? (pbxCounts.get(holder.id) ?? 0) : 1;
      const decided = legacyRoundUp(holder, pbxCount, legacyLicenses);
      const holding = holdings.get(holderKey(holder));
      let rule = decided.rule;
      let applied = false;
      if (decided.code === DEFAULT_TIER_CODE) {
        // Nothing to write: a holder without a holding holds DEFAULT.
      } else if (holding?.source === BundleSource.ORDERED) {
        rule += `; not applied: it ordered ${holding.tierCode} on ${day(holding.effectiveFrom)}, and a holder that ordered a bundle keeps it`;
      } else if (holding?.source === BundleSource.ROUND_UP_TRANSITION && holding.tierCode === decided.code) {
        rule += `; not applied: it already holds ${decided.code} by the transition since ${day(holding.effectiveFrom)}`;
      } else {
        applied = true;
        writes.push({
          holderType: holder.type,
          holderId: holder.id,
          tierCode: decided.code,
          source: BundleSource.ROUND_UP_TRANSITION,
          effectiveFrom: asOf,
          updatedAt: new Date(),
        });
      }
      decisions.push({
        customerId,
        networkId: holder.type === HolderType.NETWORK ? holder.id : null,
        pbxId: holder.type === HolderType.PBX ? holder.id : null,
        pbxCount,
        legacyLicenses,
        code: decided.code,
        rule,
        applied,
      });
    }

    if (!dryRun && writes.length) {
      for (const part of chunks(writes, 200)) await em.upsert(BundleHolding, part, ['holderType', 'holderId']);
      // Capacities changed: usage alerts may now be due, or over.
      await evaluateUsageAlerts(
        em,
        this.runtime.emit,
        writes.map((w) => ({ type: w.holderType, id: w.holderId })),
      );
    }
    return { dryRun, changed: dryRun ? 0 : writes.length, decisions };
  }

  /**
   * Holders with a legacy licence row, from the directory as it is now: a
   * network when any of its PBXs has licences (their sum is the network's),
   * a standalone PBX by its own. One statement; ordered by customer, then holder.
   */
  private async licensedHolders(em: EntityManager): Promise<LicensedHolder[]> {
    const rows = await em
      .getRepository(LegacyLicense)
      .createQueryBuilder('l')
      .innerJoin(DirectoryPbx, 'd', 'd.id = l.pbxId')
      .select('l.pbxId', 'pbxId')
      .addSelect('l.count', 'count')
      .addSelect('d.networkId', 'networkId')
      .addSelect('d.customerId', 'customerId')
      .getRawMany<{ pbxId: string; count: string | number; networkId: string | null; customerId: string }>();
    const byHolder = new Map<string, LicensedHolder>();
    for (const row of rows) {
      const holder = row.networkId ? networkHolder(row.networkId) : standalonePbxHolder(row.pbxId);
      const key = holderKey(holder);
      const entry = byHolder.get(key) ?? { holder, customerId: row.customerId, legacyLicenses: 0 };
      entry.legacyLicenses += Number(row.count);
      byHolder.set(key, entry);
    }
    const sortKey = (l: LicensedHolder) => `${l.customerId}\u0000${l.holder.type}\u0000${l.holder.id}`;
    return [...byHolder.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  }
}
