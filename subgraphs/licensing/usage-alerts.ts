import { EntityManager } from 'typeorm';
import { EventPayloads } from '../../kernel/events/catalog';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { UsageAlert } from './entities/usage-alert';
import { catalogueIn, directoryFactsIn, holdingsIn, usedBytesIn, whereHolders } from './holder-facts';
import { Holder, holderKey, holderStorage, reachesUsageAlert } from './holders';
import { chunks } from './writes';

type Emit = SubgraphRuntime['emit'];

/**
 * Rule 10: brings each holder's usage alert up to date with its usage and
 * capacity, inside the caller's transaction. Called wherever either may have
 * moved: a CdsUsageChanged applied, a bundle ordered or transitioned, a PBX
 * registered into or moved between holders.
 * - usage at or above the threshold and the alert not raised: raise it and
 *   publish StorageUsageAlertRaised (through the outbox, with the change);
 * - below the threshold and raised: clear it (the next crossing raises again);
 * - otherwise nothing: staying above raises nothing new.
 * Raising is a conditional UPDATE (`... AND raised = 0`), so two evaluations
 * of one holder at the same moment raise, and publish, once.
 * Returns how many alerts were raised.
 */
export async function evaluateUsageAlerts(em: EntityManager, emit: Emit, holders: readonly Holder[], now = new Date()): Promise<number> {
  const unique = [...new Map(holders.map((h) => [holderKey(h), h])).values()];
  if (!unique.length) return 0;
  const catalogue = await catalogueIn(em);
  const [holdings, facts, alerts] = await Promise.all([holdingsIn(em, unique), directoryFactsIn(em, unique), alertsIn(em, unique)]);
  const used = await usedBytesIn(em, unique, facts);
  let raised = 0;
  for (const holder of unique) {
    const key = holderKey(holder);
    const holding = holdings.get(key);
    const storage = holderStorage(holder, holding ? catalogue.get(holding.tierCode) : catalogue.defaultTier, used.get(key) ?? 0);
    const alert = alerts.get(key);
    const customerId = facts.get(key)?.customerId;
    if (reachesUsageAlert(storage) && !alert?.raised && customerId) {
      if (!alert) {
        await em
          .createQueryBuilder()
          .insert()
          .into(UsageAlert)
          .values({ holderType: holder.type, holderId: holder.id, raised: false, raisedAt: null, clearedAt: null })
          .orIgnore()
          .execute();
      }
      const update = await em
        .createQueryBuilder()
        .update(UsageAlert)
        .set({ raised: true, raisedAt: now })
        .where('holderType = :type AND holderId = :id AND raised = 0', { type: holder.type, id: holder.id })
        .execute();
      if (update.affected === 1) {
        raised++;
        const payload: EventPayloads['StorageUsageAlertRaised'] = {
          holderType: holder.type,
          holderId: holder.id,
          customerId,
          usedBytes: storage.usedBytes,
          capacityBytes: storage.capacityBytes,
          usageRatio: storage.usageRatio,
          raisedAt: now.toISOString(),
        };
        await emit(em, 'StorageUsageAlertRaised', key, payload);
      }
    } else if (!reachesUsageAlert(storage) && alert?.raised) {
      await em
        .createQueryBuilder()
        .update(UsageAlert)
        .set({ raised: false, clearedAt: now })
        .where('holderType = :type AND holderId = :id AND raised <> 0', { type: holder.type, id: holder.id })
        .execute();
    }
  }
  return raised;
}

async function alertsIn(em: EntityManager, holders: readonly Holder[]): Promise<Map<string, UsageAlert>> {
  const found = new Map<string, UsageAlert>();
  for (const part of chunks(holders)) {
    for (const row of await whereHolders(em.getRepository(UsageAlert).createQueryBuilder('a'), 'a', part).getMany()) {
      found.set(holderKey({ type: row.holderType, id: row.holderId }), row);
    }
  }
  return found;
}
