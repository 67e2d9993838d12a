import { EntityManager } from 'typeorm';
import { DirectoryPbx } from '../../kernel/directory';
import { EventPayloads } from '../../kernel/events/catalog';
import { EventApplier } from '../../kernel/events/outbox';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { PbxUsage } from './entities/pbx-usage';
import { holderOfPbx, networkHolder, standalonePbxHolder } from './holders';
import { evaluateUsageAlerts } from './usage-alerts';

/**
 * Keeps pbx_usage, the replica of each PBX's CDS bytes. Storage numbers each
 * figure; a figure older than the one held (a late or repeated delivery) is
 * ignored, so the replica only moves forward. Returns whether it changed.
 */
export async function applyCdsUsage(em: EntityManager, change: EventPayloads['CdsUsageChanged']): Promise<boolean> {
  const current = await em.findOneBy(PbxUsage, { pbxId: change.pbxId });
  if (current && current.revision >= change.revision) return false;
  await em.save(PbxUsage, em.create(PbxUsage, { pbxId: change.pbxId, usedBytes: change.usedBytes, revision: change.revision }));
  return true;
}

/**
 * The events licensing applies: storage's usage figures, and the PBX events
 * that move a PBX between holders (the kernel applies them to the directory
 * first, in the same transaction). Each re-evaluates the usage alert
 * (rule 10) of the holders whose usage or membership it moved, in that
 * transaction, so a raised alert is published exactly when the change that
 * caused it commits.
 */
export function usageAppliers(runtime: SubgraphRuntime): Record<string, EventApplier> {
  const holderNow = async (em: EntityManager, pbxId: string) => {
    const pbx = await em.findOneBy(DirectoryPbx, { id: pbxId });
    return pbx ? holderOfPbx(pbx) : null;
  };
  return {
    CdsUsageChanged: async (em, event) => {
      const change = event.payload as EventPayloads['CdsUsageChanged'];
      if (!(await applyCdsUsage(em, change))) return;
      // A PBX the directory does not know yet is evaluated when its PbxRegistered arrives.
      const holder = await holderNow(em, change.pbxId);
      if (holder) await evaluateUsageAlerts(em, runtime.emit, [holder]);
    },
    PbxRegistered: async (em, event) => {
      const { pbx } = event.payload as EventPayloads['PbxRegistered'];
      const holder = await holderNow(em, pbx.id);
      if (holder) await evaluateUsageAlerts(em, runtime.emit, [holder]);
    },
    PbxNetworkChanged: async (em, event) => {
      const { pbx, previousNetworkId } = event.payload as EventPayloads['PbxNetworkChanged'];
      // Both the holder it left (its usage went down) and the one it joined (up).
      const previous = previousNetworkId ? networkHolder(previousNetworkId) : standalonePbxHolder(pbx.id);
      const current = await holderNow(em, pbx.id);
      await evaluateUsageAlerts(em, runtime.emit, current ? [previous, current] : [previous]);
    },
  };
}
