import { EntityManager } from 'typeorm';
import { EventPayloads } from '../../kernel/events/catalog';
import { EventApplier } from '../../kernel/events/outbox';
import { PbxUsage } from './entities/pbx-usage';

/**
 * Keeps pbx_usage, the replica of each PBX's CDS bytes. Storage numbers each
 * figure; a figure older than the one held (a late or repeated delivery) is
 * ignored, so the replica only moves forward.
 */
export async function applyCdsUsage(em: EntityManager, change: EventPayloads['CdsUsageChanged']): Promise<void> {
  const current = await em.findOneBy(PbxUsage, { pbxId: change.pbxId });
  if (current && current.revision >= change.revision) return;
  await em.save(PbxUsage, em.create(PbxUsage, { pbxId: change.pbxId, usedBytes: change.usedBytes, revision: change.revision }));
}

export function usageAppliers(): Record<string, EventApplier> {
  return {
    CdsUsageChanged: (em, event) => applyCdsUsage(em, event.payload as EventPayloads['CdsUsageChanged']),
  };
}
