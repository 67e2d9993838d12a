import { Brackets, EntityManager, In, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { DirectoryNetwork, DirectoryPbx } from '../../kernel/directory';
import { BundleHolding } from './entities/bundle-holding';
import { BundleTier } from './entities/bundle-tier';
import { PbxUsage } from './entities/pbx-usage';
import { StaticIpAddress } from './entities/static-ip-address';
import { chunks } from './writes';
import { Holder, holderKey, HolderType, TierCatalogue } from './holders';

/**
 * What commands and event appliers read about holders inside their own
 * transaction (the request loaders read outside one). Each function is one
 * statement per 500 holders, however many holders it is given.
 */

export async function catalogueIn(em: EntityManager): Promise<TierCatalogue> {
  return new TierCatalogue(await em.find(BundleTier, { order: { rank: 'ASC' } }));
}

const idsOf = (holders: readonly Holder[], type: HolderType) => [...new Set(holders.filter((h) => h.type === type).map((h) => h.id))];

/** `WHERE (holderType = NETWORK AND holderId IN (...)) OR (holderType = PBX AND holderId IN (...))` */
export function whereHolders<E extends ObjectLiteral>(
  query: SelectQueryBuilder<E>,
  alias: string,
  holders: readonly Holder[],
): SelectQueryBuilder<E> {
  return query.andWhere(
    new Brackets((q) => {
      q.where('1 = 0');
      for (const type of [HolderType.NETWORK, HolderType.PBX]) {
        const ids = idsOf(holders, type);
        if (ids.length) {
          q.orWhere(
            new Brackets((b) =>
              b
                .where(`${alias}.holderType = :t_${type}`, { [`t_${type}`]: type })
                .andWhere(`${alias}.holderId IN (:...ids_${type})`, { [`ids_${type}`]: ids }),
            ),
          );
        }
      }
    }),
  );
}

/** Holdings by holderKey (absent: the holder holds DEFAULT). `lock` adds FOR UPDATE where supported. */
export async function holdingsIn(
  em: EntityManager,
  holders: readonly Holder[],
  lock: <E extends ObjectLiteral>(q: SelectQueryBuilder<E>) => SelectQueryBuilder<E> = (q) => q,
): Promise<Map<string, BundleHolding>> {
  const found = new Map<string, BundleHolding>();
  for (const part of chunks(holders)) {
    const rows = await lock(whereHolders(em.getRepository(BundleHolding).createQueryBuilder('h'), 'h', part)).getMany();
    for (const row of rows) found.set(holderKey({ type: row.holderType, id: row.holderId }), row);
  }
  return found;
}

/** How many PBXs each network has, by the directory. */
export async function networkPbxCountsIn(em: EntityManager, networkIds: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const part of chunks([...new Set(networkIds)])) {
    const rows = await em
      .getRepository(DirectoryPbx)
      .createQueryBuilder('d')
      .select('d.networkId', 'networkId')
      .addSelect('COUNT(*)', 'n')
      .where('d.networkId IN (:...ids)', { ids: part })
      .groupBy('d.networkId')
      .getRawMany<{ networkId: string; n: string | number }>();
    for (const row of rows) counts.set(row.networkId, Number(row.n));
  }
  return counts;
}

/** How many PBXs of a holder hold a static IP (a standalone PBX: 0 or 1). */
export async function assignedStaticIpsIn(em: EntityManager, holder: Holder): Promise<number> {
  if (holder.type === HolderType.PBX) return em.countBy(StaticIpAddress, { pbxId: holder.id });
  return em
    .getRepository(StaticIpAddress)
    .createQueryBuilder('s')
    .innerJoin(DirectoryPbx, 'd', 'd.id = s.pbxId')
    .where('d.networkId = :id', { id: holder.id })
    .getCount();
}

/** What the directory says about each holder: its customer, and for a standalone PBX whether it still is one. */
export interface HolderDirectoryFacts {
  customerId: string;
  /** false for a PBX holder whose PBX is now in a network (it no longer holds anything) */
  current: boolean;
}

export async function directoryFactsIn(em: EntityManager, holders: readonly Holder[]): Promise<Map<string, HolderDirectoryFacts>> {
  const facts = new Map<string, HolderDirectoryFacts>();
  for (const part of chunks(idsOf(holders, HolderType.NETWORK))) {
    for (const n of await em.findBy(DirectoryNetwork, { id: In(part) }))
      facts.set(holderKey({ type: HolderType.NETWORK, id: n.id }), { customerId: n.customerId, current: true });
  }
  for (const part of chunks(idsOf(holders, HolderType.PBX))) {
    for (const p of await em.findBy(DirectoryPbx, { id: In(part) }))
      facts.set(holderKey({ type: HolderType.PBX, id: p.id }), { customerId: p.customerId, current: p.networkId === null });
  }
  return facts;
}

/**
 * CDS bytes each holder's PBXs use: a network the sum over its PBXs, a
 * standalone PBX its own figure (0 once it is in a network: its network holds it).
 */
export async function usedBytesIn(
  em: EntityManager,
  holders: readonly Holder[],
  facts: Map<string, HolderDirectoryFacts>,
): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  for (const part of chunks(idsOf(holders, HolderType.NETWORK))) {
    const rows = await em
      .getRepository(PbxUsage)
      .createQueryBuilder('u')
      .innerJoin(DirectoryPbx, 'd', 'd.id = u.pbxId')
      .select('d.networkId', 'networkId')
      .addSelect('SUM(u.usedBytes)', 'used')
      .where('d.networkId IN (:...ids)', { ids: part })
      .groupBy('d.networkId')
      .getRawMany<{ networkId: string; used: string | number | null }>();
    for (const row of rows) used.set(holderKey({ type: HolderType.NETWORK, id: row.networkId }), Number(row.used ?? 0));
  }
  for (const part of chunks(idsOf(holders, HolderType.PBX))) {
    for (const row of await em.findBy(PbxUsage, { pbxId: In(part) })) {
      const key = holderKey({ type: HolderType.PBX, id: row.pbxId });
      if (facts.get(key)?.current) used.set(key, row.usedBytes);
    }
  }
  return used;
}
