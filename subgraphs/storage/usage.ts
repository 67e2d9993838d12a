import { EntityManager } from 'typeorm';
import { EventPayloads } from '../../kernel/events/catalog';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { CdsStatus, notActivated } from './entities/cds-status';

export type UsageChange = EventPayloads['CdsUsageChanged'];

/**
 * Sets a PBX's cds_status.usedBytes to the sum of its cds_usage rows and bumps
 * its revision, in the caller's transaction. One UPDATE does both, so a
 * concurrent writer of the same PBX waits on the row lock instead of
 * overwriting a newer sum with an older one. Creates the status row
 * (NOT_ACTIVATED) when the PBX has none yet.
 */
export async function recomputeUsage(em: EntityManager, pbxId: string): Promise<UsageChange> {
  const { state, region, activatedAt, usedBytes, revision } = notActivated(pbxId);
  await em
    .createQueryBuilder()
    .insert()
    .into(CdsStatus)
    .values({ pbxId, state, region, activatedAt, usedBytes, revision })
    .orIgnore()
    .execute();
  await em
    .createQueryBuilder()
    .update(CdsStatus)
    .set({
      usedBytes: () => '(SELECT COALESCE(SUM(u.usedBytes), 0) FROM cds_usage u WHERE u.pbxId = cds_status.pbxId)',
      revision: () => 'revision + 1',
    })
    .where('pbxId = :pbxId', { pbxId })
    .execute();
  const status = await em.findOneByOrFail(CdsStatus, { pbxId });
  return { pbxId, usedBytes: status.usedBytes, revision: status.revision };
}

/** CDS usage bookkeeping: whoever changes cds_usage calls recordUsage in the same transaction. */
export class CdsUsageService {
  constructor(private readonly runtime: SubgraphRuntime) {}

  /**
   * Recomputes the PBX's total from cds_usage and announces it
   * (CdsUsageChanged, for licensing's capacity and usage alert) in the
   * transaction `em` belongs to: use inside `runtime.transact`.
   */
  async recordUsage(em: EntityManager, pbxId: string): Promise<UsageChange> {
    const change = await recomputeUsage(em, pbxId);
    await this.runtime.emit(em, 'CdsUsageChanged', pbxId, change);
    return change;
  }
}
