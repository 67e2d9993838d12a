import { DataSource, ObjectLiteral, Repository } from 'typeorm';
import { createDirectoryLoaders, DirectoryPbx, pbxOwnership } from '../../kernel/directory';
import { Identity } from '../../kernel/identity';
import { aggregateLoader, keyedLoader } from '../../kernel/loaders';
import { selectRows } from '../../kernel/rows';
import { Scope } from '../../kernel/scope';
import { BundleHolding } from './entities/bundle-holding';
import { BundleTier } from './entities/bundle-tier';
import { Bundle, HolderStorage, StaticIpUsage } from './entities/holder-views';
import { LegacyLicense } from './entities/legacy-license';
import { PbxUsage } from './entities/pbx-usage';
import { StaticIpAddress } from './entities/static-ip-address';
import { UsageAlert } from './entities/usage-alert';
import { whereHolders } from './holder-facts';
import { heldBundle, Holder, holderKey, holderStorage, HolderType, pbxCountOf, staticIpUsage, TierCatalogue } from './holders';

/** Splits holderKeys back into holders. */
const holdersOf = (keys: readonly string[]): Holder[] =>
  keys.map((key) => {
    const at = key.indexOf(':');
    return { type: key.slice(0, at) as HolderType, id: key.slice(at + 1) };
  });

/** A loader of rows keyed by holder (holderType, holderId): one statement per request. */
const byHolderKey = <E extends ObjectLiteral & { holderType: HolderType; holderId: string }>(repository: Repository<E>) =>
  keyedLoader<string, E>(
    (keys) => whereHolders(repository.createQueryBuilder('h'), 'h', holdersOf(keys)).getMany(),
    (row) => holderKey({ type: row.holderType, id: row.holderId }),
  );

/** `SELECT networkId, <aggregate> ... JOIN directory_pbx ... GROUP BY networkId` as a Map. */
async function perNetwork(rows: Promise<{ networkId: string; value: string | number | null }[]>): Promise<Map<string, number>> {
  return new Map((await rows).map((r) => [r.networkId, Number(r.value ?? 0)]));
}

/**
 * The bundle catalogue is written by a migration only (InsertBundleTierCatalogue)
 * and never changes while a process runs, so each process reads it once.
 */
const catalogues = new WeakMap<DataSource, Promise<TierCatalogue>>();
function catalogueOf(db: DataSource): Promise<TierCatalogue> {
  let catalogue = catalogues.get(db);
  if (!catalogue) {
    catalogue = db
      .getRepository(BundleTier)
      .find({ order: { rank: 'ASC' } })
      .then((rows) => new TierCatalogue(rows));
    catalogues.set(db, catalogue);
    catalogue.catch(() => catalogues.delete(db)); // a failed read is tried again by the next request
  }
  return catalogue;
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

  const loaders = {
    directory,
    /** The whole catalogue (five rows), read once per process. */
    tiers: (): Promise<TierCatalogue> => catalogueOf(db),
    /** Holdings by holderKey; null when the holder holds DEFAULT. */
    holding: byHolderKey(holdings),
    /** Usage alerts by holderKey (rule 10); null when never raised. */
    usageAlert: byHolderKey(db.getRepository(UsageAlert)),
    /** Sum of the CDS bytes of a network's PBXs (PBXs without a figure count 0). */
    usedBytesOfNetwork: aggregateLoader<string, number>(
      (ids) =>
        perNetwork(
          usage
            .createQueryBuilder('u')
            .innerJoin(DirectoryPbx, 'd', 'd.id = u.pbxId')
            .select('d.networkId', 'networkId')
            .addSelect('SUM(u.usedBytes)', 'value')
            .where('d.networkId IN (:...ids)', { ids: [...ids] })
            .groupBy('d.networkId')
            .getRawMany(),
        ),
      0,
    ),
    /** One PBX's CDS bytes: a standalone PBX's storage against its own bundle (rule 10). */
    usageOfPbx: keyedLoader<string, PbxUsage>(
      (ids) => selectRows(db, PbxUsage, { whereIn: ['pbxId', ids] }),
      (u) => u.pbxId,
    ),
    /** The address assigned to a PBX, if any. */
    staticIpOfPbx: keyedLoader<string, StaticIpAddress>(
      (ids) => selectRows(db, StaticIpAddress, { whereIn: ['pbxId', ids] }),
      (a) => a.pbxId ?? '',
    ),
    /** How many PBXs of a network hold a static IP. */
    assignedStaticIpsOfNetwork: aggregateLoader<string, number>(
      (ids) =>
        perNetwork(
          addresses
            .createQueryBuilder('s')
            .innerJoin(DirectoryPbx, 'd', 'd.id = s.pbxId')
            .select('d.networkId', 'networkId')
            .addSelect('COUNT(*)', 'value')
            .where('d.networkId IN (:...ids)', { ids: [...ids] })
            .groupBy('d.networkId')
            .getRawMany(),
        ),
      0,
    ),
    legacyLicense: keyedLoader<string, LegacyLicense>(
      (ids) => selectRows(db, LegacyLicense, { whereIn: ['pbxId', ids] }),
      (l) => l.pbxId,
    ),
  };

  /** How many PBXs a holder has (a network's from the directory; a standalone PBX is one). */
  const pbxCountOfHolder = async (holder: Holder): Promise<number> =>
    pbxCountOf(holder, holder.type === HolderType.NETWORK ? await directory.pbxCountOfNetwork.load(holder.id) : 0);

  /** The bundle a holder holds (DEFAULT without a holding), through the loaders above. */
  const bundleOf = async (holder: Holder): Promise<Bundle> => {
    const [holding, tiers, pbxCount] = await Promise.all([
      loaders.holding.load(holderKey(holder)),
      loaders.tiers(),
      pbxCountOfHolder(holder),
    ]);
    return heldBundle(holder, holding, tiers, pbxCount);
  };

  /** The holder's CDS usage against its bundle's capacity. */
  const storageOf = async (holder: Holder): Promise<HolderStorage> => {
    const [bundle, usedBytes] = await Promise.all([
      bundleOf(holder),
      holder.type === HolderType.NETWORK
        ? loaders.usedBytesOfNetwork.load(holder.id)
        : loaders.usageOfPbx.load(holder.id).then((u) => u?.usedBytes ?? 0),
    ]);
    return holderStorage(holder, bundle.tier, usedBytes);
  };

  /** The holder's static-IP allowance and how much of it is used. */
  const staticIpUsageOf = async (holder: Holder): Promise<StaticIpUsage> => {
    const [bundle, pbxCount, assigned] = await Promise.all([
      bundleOf(holder),
      pbxCountOfHolder(holder),
      holder.type === HolderType.NETWORK
        ? loaders.assignedStaticIpsOfNetwork.load(holder.id)
        : loaders.staticIpOfPbx.load(holder.id).then((a) => (a ? 1 : 0)),
    ]);
    return staticIpUsage(bundle.tier, pbxCount, assigned);
  };

  const scope = new Scope(identity, async (serial) => {
    const own = await directory.pbx.load(serial);
    return own ? pbxOwnership(own) : null;
  });
  return { ...loaders, pbxCountOfHolder, bundleOf, storageOf, staticIpUsageOf, scope };
}

export type LicensingLoaders = ReturnType<typeof createLicensingLoaders>;
