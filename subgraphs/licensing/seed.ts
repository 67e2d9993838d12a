import { DataSource, In, IsNull } from 'typeorm';
import { BundleSource } from '../../kernel/domain/enums';
import { normalizeIpv4, normalizeRegion } from '../../kernel/domain/rules';
import { BundleHolding } from './entities/bundle-holding';
import { LegacyLicense } from './entities/legacy-license';
import { StaticIpAddress } from './entities/static-ip-address';
import { HolderType } from './holders';

export interface LicensingSeed {
  legacyLicenses?: { pbxId: string; count: number }[];
  pools?: { region: string; addresses: string[] }[];
  holdings?: { holderType: HolderType; holderId: string; tierCode: string; source?: BundleSource; effectiveFrom?: Date }[];
  /** addresses (already in a pool) assigned to PBXs */
  staticIps?: { address: string; pbxId: string; assignedAt?: Date }[];
}

/**
 * Writes licensing rows directly, for the demo dataset and tests only: no
 * roles, allowances or "may hold" rules are checked. Running it again with the
 * same rows changes nothing (every write is an upsert or skips what exists).
 */
export async function seedLicensing(db: DataSource, rows: LicensingSeed): Promise<void> {
  await db.transaction(async (em) => {
    const now = new Date();
    for (const l of rows.legacyLicenses ?? []) {
      await em.upsert(LegacyLicense, { pbxId: l.pbxId, count: l.count, updatedAt: now }, ['pbxId']);
    }
    for (const pool of rows.pools ?? []) {
      const region = normalizeRegion(pool.region);
      const addresses = [...new Set(pool.addresses.map((a) => normalizeIpv4(a)))];
      if (!addresses.length) continue;
      const known = new Set((await em.findBy(StaticIpAddress, { address: In(addresses) })).map((a) => a.address));
      const fresh = addresses.filter((a) => !known.has(a)).map((address) => ({ address, region, pbxId: null, assignedAt: null }));
      if (fresh.length) await em.insert(StaticIpAddress, fresh);
    }
    for (const h of rows.holdings ?? []) {
      await em.upsert(
        BundleHolding,
        {
          holderType: h.holderType,
          holderId: h.holderId,
          tierCode: h.tierCode,
          source: h.source ?? BundleSource.ORDERED,
          effectiveFrom: h.effectiveFrom ?? now,
          updatedAt: now,
        },
        ['holderType', 'holderId'],
      );
    }
    for (const s of rows.staticIps ?? []) {
      // Only a free address is assigned, so running the seed again keeps the first assignment as it was.
      await em.update(
        StaticIpAddress,
        { address: normalizeIpv4(s.address), pbxId: IsNull() },
        { pbxId: s.pbxId, assignedAt: s.assignedAt ?? now },
      );
    }
  });
}
