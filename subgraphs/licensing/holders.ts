import { BundleSource } from '../../kernel/domain/enums';
import { USAGE_ALERT_RATIO } from '../../kernel/domain/rules';
import type { BundleHolding } from './entities/bundle-holding';
import type { BundleTier } from './entities/bundle-tier';
import type { Bundle, HolderStorage, StaticIpUsage } from './entities/holder-views';

/**
 * The licensing rules (DOMAIN.md rules 6 to 10), in one place: who holds a
 * bundle, what a holder holds when it ordered nothing, and what capacity,
 * retention, static-IP allowance and upgrade flag follow from it. The sizes
 * themselves are data (the bundle_tier table); this module only decides.
 * Everything here is pure, so the read side and the commands (ordering,
 * the legacy transition, static IPs) share it.
 */

export enum HolderType {
  NETWORK = 'NETWORK',
  PBX = 'PBX',
}

/** Who holds a bundle: a WMS network, or a PBX that is in no network. */
export interface Holder {
  type: HolderType;
  /** the network id, or the PBX serial of a standalone PBX */
  id: string;
}

/** The tier of everyone who holds no bundle (rule 7, "DEFAULT (no bundle)"). */
export const DEFAULT_TIER_CODE = 'DEFAULT';

export const networkHolder = (networkId: string): Holder => ({ type: HolderType.NETWORK, id: networkId });
export const standalonePbxHolder = (pbxId: string): Holder => ({ type: HolderType.PBX, id: pbxId });

/** Rule 7: a PBX in a network shares the network's bundle; a standalone PBX holds its own. */
export function holderOfPbx(pbx: { id: string; networkId: string | null }): Holder {
  return pbx.networkId ? networkHolder(pbx.networkId) : standalonePbxHolder(pbx.id);
}

/** A string key per holder, for loaders and maps. */
export const holderKey = (holder: Holder): string => `${holder.type}:${holder.id}`;

/** The catalogue of one request, DEFAULT first, smallest to largest. */
export class TierCatalogue {
  private readonly byCode: Map<string, BundleTier>;

  constructor(readonly tiers: readonly BundleTier[]) {
    this.tiers = [...tiers].sort((a, b) => a.rank - b.rank);
    this.byCode = new Map(this.tiers.map((tier) => [tier.code, tier]));
  }

  find(code: string): BundleTier | null {
    return this.byCode.get(code) ?? null;
  }

  /** A tier the data promises exists (a holding's tier, DEFAULT); missing means the catalogue is broken. */
  get(code: string): BundleTier {
    const tier = this.byCode.get(code);
    if (!tier) throw new Error(`Bundle tier '${code}' is missing from the bundle_tier catalogue`);
    return tier;
  }

  get defaultTier(): BundleTier {
    return this.get(DEFAULT_TIER_CODE);
  }
}

/**
 * How many PBXs a holder has: a network its PBXs (from the directory), a
 * standalone PBX itself. `networkPbxCount` is only read for networks.
 */
export function pbxCountOf(holder: Holder, networkPbxCount: number): number {
  return holder.type === HolderType.NETWORK ? networkPbxCount : 1;
}

/**
 * Rule 7, "a network that outgrows its bundle keeps working and is flagged":
 * a network with more PBXs than its tier allows, or (never by ordering, but
 * possible through data) a network on a standalone-only tier. A standalone
 * PBX never needs an upgrade: the network limits do not apply to it.
 */
export function needsUpgrade(holder: Holder, tier: BundleTier, pbxCount: number): boolean {
  if (holder.type !== HolderType.NETWORK) return false;
  if (tier.standaloneOnly) return true;
  return tier.maxNetworkPbxs !== null && pbxCount > tier.maxNetworkPbxs;
}

/**
 * The bundle a holder holds. **Decision:** a holder without a holding row
 * holds DEFAULT with source DEFAULT and `effectiveFrom` null: it has held
 * DEFAULT for as long as it exists, and licensing does not know (and need not
 * know) when the network subgraph created it.
 */
export function heldBundle(holder: Holder, holding: BundleHolding | null, catalogue: TierCatalogue, pbxCount: number): Bundle {
  const tier = holding ? catalogue.get(holding.tierCode) : catalogue.defaultTier;
  return {
    tier,
    source: holding ? holding.source : BundleSource.DEFAULT,
    effectiveFrom: holding ? holding.effectiveFrom : null,
    needsUpgrade: needsUpgrade(holder, tier, pbxCount),
  };
}

/** Rule 6: Cloud Analytics keeps data for the bundle's retention; DEFAULT's row says 3 months. */
export function analyticsRetentionMonths(tier: BundleTier): number {
  return tier.analyticsRetentionMonths;
}

/** Rule 7: a tier's allowance, or every PBX of the holder when the tier says null. */
export function staticIpAllowance(tier: BundleTier, pbxCount: number): number {
  return tier.staticIpAllowance ?? pbxCount;
}

/**
 * Rule 8's figures. `available` never goes below 0: a holder that shrank or
 * moved to a smaller tier keeps the addresses it has but gets no more.
 * **Decision:** when a PBX with a static IP joins a holder whose allowance is
 * already used up, it keeps its address (taking an address away would cut a
 * running PBX off); the holder is flagged `overAllowance` and gets no new
 * address until enough are released or it orders a larger bundle.
 */
export function staticIpUsage(tier: BundleTier, pbxCount: number, assigned: number): StaticIpUsage {
  const allowance = staticIpAllowance(tier, pbxCount);
  return { allowance, assigned, available: Math.max(0, allowance - assigned), overAllowance: assigned > allowance };
}

/** The holder's CDS storage against its bundle's capacity. */
export function holderStorage(holder: Holder, tier: BundleTier, usedBytes: number): HolderStorage {
  const capacityBytes = tier.storageBytes;
  const usageRatio = capacityBytes > 0 ? usedBytes / capacityBytes : usedBytes > 0 ? 1 : 0;
  return { holder, usedBytes, capacityBytes, usageRatio };
}

/** Rule 10: whether usage is at or above the alert threshold (the alert itself is raised once per crossing). */
export function reachesUsageAlert(storage: Pick<HolderStorage, 'usageRatio'>): boolean {
  return storage.usageRatio >= USAGE_ALERT_RATIO;
}

/**
 * Rule 7: why `holder` may not hold `tier`, in words a person understands,
 * or null when it may. Ordering refuses with this (CONFLICT).
 * **Decision:** DEFAULT is not a bundle one orders (it is what a holder has
 * without one), so ordering it is refused like any tier the holder may not hold.
 */
export function refusalToHold(tier: BundleTier, holder: Holder, pbxCount: number): string | null {
  if (tier.code === DEFAULT_TIER_CODE) return `${DEFAULT_TIER_CODE} is what a holder has without a bundle; it cannot be ordered`;
  if (holder.type !== HolderType.NETWORK) return null;
  if (tier.standaloneOnly) return `${tier.code} is for standalone PBXs only; network '${holder.id}' needs a bundle that networks may hold`;
  if (tier.maxNetworkPbxs !== null && pbxCount > tier.maxNetworkPbxs) {
    return `${tier.code} is for networks of at most ${tier.maxNetworkPbxs} PBXs; network '${holder.id}' has ${pbxCount}, so it needs a larger bundle`;
  }
  return null;
}

/** Rule 9: the day legacy storage licences became bundles. */
export const LEGACY_TRANSITION_DATE = new Date('2024-02-01T00:00:00.000Z');

/** Rule 9's round-up thresholds, kept as data here so a change is one edit. */
export const LEGACY_ROUND_UP = {
  /** networks: 1..5 PBXs -> CDS-50, more -> CDS-500 */
  network: { smallUpTo: 5, small: 'CDS-50', large: 'CDS-500' },
  /** standalone PBXs: 1..4 licences -> CDS-50, more -> CDS-500 (**Decision:** 5 rounds up too) */
  standalone: { smallUpTo: 4, small: 'CDS-50', large: 'CDS-500' },
} as const;

export interface RoundUpDecision {
  /** the tier the holder transitions to, or DEFAULT when it had no licences */
  code: string;
  /** the rule that made the decision, in words (shown in the transition's report) */
  rule: string;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Rule 9: what a holder transitions to. `legacyLicenses` is the holder's
 * licences (for a network, the sum over its PBXs: any licence counts).
 * The rule names the holder's own figure and the range it fell in, e.g.
 * "network of 4 PBXs (1-5 PBXs) -> CDS-50".
 */
export function legacyRoundUp(holder: Holder, pbxCount: number, legacyLicenses: number): RoundUpDecision {
  if (legacyLicenses <= 0) {
    return { code: DEFAULT_TIER_CODE, rule: 'no legacy storage licences -> DEFAULT 5 GB (nothing to transition)' };
  }
  if (holder.type === HolderType.NETWORK) {
    const { smallUpTo, small, large } = LEGACY_ROUND_UP.network;
    const network = `network of ${plural(pbxCount, 'PBX', 'PBXs')} with licences`;
    return pbxCount <= smallUpTo
      ? { code: small, rule: `${network} (1-${smallUpTo} PBXs) -> ${small}` }
      : { code: large, rule: `${network} (${smallUpTo + 1} or more PBXs) -> ${large}` };
  }
  const { smallUpTo, small, large } = LEGACY_ROUND_UP.standalone;
  const standalone = `standalone PBX with ${plural(legacyLicenses, 'licence', 'licences')}`;
  return legacyLicenses <= smallUpTo
    ? { code: small, rule: `${standalone} (1-${smallUpTo} licences) -> ${small}` }
    : { code: large, rule: `${standalone} (${smallUpTo + 1} or more licences) -> ${large}` };
}

/** How a holder is named in messages a partner reads. */
export function describeHolder(holder: Holder): string {
  return holder.type === HolderType.NETWORK ? `network '${holder.id}'` : `standalone PBX '${holder.id}'`;
}
