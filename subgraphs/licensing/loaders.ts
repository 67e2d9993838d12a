import { Brackets, DataSource, In } from 'typeorm';
import { createDirectoryLoaders, DirectoryPbx, pbxOwnership } from '../../kernel/directory';
import { Identity } from '../../kernel/identity';
import { aggregateLoader, keyedLoader } from '../../kernel/loaders';
import { Scope } from '../../kernel/scope';
import { BundleHolding } from './entities/bundle-holding';
import { BundleTier } from './entities/bundle-tier';
import { Bundle } from './entities/holder-views';
import { LegacyLicense } from './entities/legacy-license';
import { PbxUsage } from './entities/pbx-usage';
import { StaticIpAddress } from './entities/static-ip-address';
import { heldBundle, Holder, holderKey, HolderType, pbxCountOf, TierCatalogue } from './holders';

/** `SELECT networkId, <aggregate> ... JOIN directory_pbx ... GROUP BY networkId` as a Map. */
async function perNetwork(
  rows: Promise<{ networkId: string; value: string | number | null }[]>,
): Promise<Map<string, number>> {
  return new Map((await rows).map((r) => [r.networkId, Number(r.value ?? 0)]));
}

/**
 * Request-scoped loaders of the licensing subgraph: one statement per kind of
 * lookup per request, however many networks and PBXs the request touches.
 */
export function createLicensingLoaders(db: DataSource, identity: Identity) {
  const directory = createDirectoryLoaders(db);
  const holdings = db.getRepository(BundleHolding);
  const addresses = db.getRepository(StaticIpAddress);
  const usage = db.getRepository(PbxUsage);

  let catalogue: Promise<TierCatalogue> | null = null;

  const loaders = {
    directory,
    /** The whole catalogue, read once per request (five rows). */
    tiers: (): Promise<TierCatalogue> =>
      (catalogue ??= db.getRepository(BundleTier).find({ order: { rank: 'ASC' } }).then((rows) => new TierCatalogue(rows))),
    /** Holdings by holderKey; null when the holder holds DEFAULT. */
    holding: keyedLoader<string, BundleHolding>(async (keys) => {
      const idsByType = new Map<string, string[]>();
      for (const key of keys) {
        const at = key.indexOf(':');
        const type = key.slice(0, at);
        idsByType.set(type, [...(idsByType.get(type) ?? []), key.slice(at + 1)]);
      }
      const query = holdings.createQueryBuilder('h');
      let i = 0;
      for (const [type, ids] of idsByType) {
        const n = i++;
        query.orWhere(new Brackets((q) => q.where(`h.holderType = :type${n}`, { [`type${n}`]: type }).andWhere(`h.holderId IN (:...ids${n})`, { [`ids${n}`]: ids })));
      }
      return query.getMany();
    }, (h) => holderKey({ type: h.holderType, id: h.holderId })),
    /** Sum of the CDS bytes of a network's PBXs (PBXs without a figure count 0). */
    usedBytesOfNetwork: aggregateLoader<string, number>((ids) => perNetwork(
      usage.createQueryBuilder('u').innerJoin(DirectoryPbx, 'd', 'd.id = u.pbxId')
        .select('d.networkId', 'networkId').addSelect('SUM(u.usedBytes)', 'value')
        .where('d.networkId IN (:...ids)', { ids: [...ids] }).groupBy('d.networkId').getRawMany(),
    ), 0),
    /** One PBX's CDS bytes: a standalone PBX's storage against its own bundle (rule 10). */
    usageOfPbx: keyedLoader<string, PbxUsage>((ids) => usage.findBy({ pbxId: In([...ids]) }), (u) => u.pbxId),
    /** The address assigned to a PBX, if any. */
    staticIpOfPbx: keyedLoader<string, StaticIpAddress>(
      (ids) => addresses.findBy({ pbxId: In([...ids]) }),
      (a) => a.pbxId ?? '',
    ),
    /** How many PBXs of a network hold a static IP. */
    assignedStaticIpsOfNetwork: aggregateLoader<string, number>((ids) => perNetwork(
      addresses.createQueryBuilder('s').innerJoin(DirectoryPbx, 'd', 'd.id = s.pbxId')
        .select('d.networkId', 'networkId').addSelect('COUNT(*)', 'value')
        .where('d.networkId IN (:...ids)', { ids: [...ids] }).groupBy('d.networkId').getRawMany(),
    ), 0),
    legacyLicense: keyedLoader<string, LegacyLicense>((ids) => db.getRepository(LegacyLicense).findBy({ pbxId: In([...ids]) }), (l) => l.pbxId),
  };

  /** How many PBXs a holder has (a network's from the directory; a standalone PBX is one). */
  const pbxCountOfHolder = async (holder: Holder): Promise<number> =>
    pbxCountOf(holder, holder.type === HolderType.NETWORK ? await directory.pbxCountOfNetwork.load(holder.id) : 0);

  /** The bundle a holder holds (DEFAULT without a holding), through the loaders above. */
  const bundleOf = async (holder: Holder): Promise<Bundle> => {
    const [holding, tiers, pbxCount] = await Promise.all([loaders.holding.load(holderKey(holder)), loaders.tiers(), pbxCountOfHolder(holder)]);
    return heldBundle(holder, holding, tiers, pbxCount);
  };

  const scope = new Scope(identity, async (serial) => {
    const own = await directory.pbx.load(serial);
    return own ? pbxOwnership(own) : null;
  });
  return { ...loaders, pbxCountOfHolder, bundleOf, scope };
}

export type LicensingLoaders = ReturnType<typeof createLicensingLoaders>;
