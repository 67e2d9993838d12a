import { MigrationStatus, MigrationTrigger, PbxKind } from '../domain/enums';

/**
 * Every event that crosses subgraphs, by name, with its payload. docs/events.md
 * describes them for people; this is the one definition code uses.
 */

/** What the network subgraph knows of a PBX, sent whole so replicas can upsert. */
export interface PbxSnapshot {
  id: string;
  name: string;
  kind: PbxKind;
  wmsVersion: string;
  region: string;
  customerId: string;
  networkId: string | null;
  /** grows by one with each change of the PBX; replicas ignore older snapshots */
  revision: number;
}

export interface NetworkSnapshot {
  id: string;
  name: string;
  customerId: string;
}

export interface EventPayloads {
  /** network -> all: a customer was created */
  CustomerCreated: { customerId: string; name: string };
  /** network -> all: a WMS network was created */
  NetworkCreated: { network: NetworkSnapshot };
  /** network -> all: a PBX was registered (a cloud PBX on >= 6.05 counts as its first version report) */
  PbxRegistered: { pbx: PbxSnapshot };
  /** network -> all: a PBX joined, left or changed network */
  PbxNetworkChanged: { pbx: PbxSnapshot; previousNetworkId: string | null };
  /** network -> all: a PBX reported the WMS version it runs */
  WmsVersionReported: { pbx: PbxSnapshot; previousVersion: string };
  /** storage -> all: a migration into CDS was started (queued) */
  MigrationStarted: MigrationProgressPayload & { trigger: MigrationTrigger; region: string; startedAt: string };
  /** storage -> all: a migration's counts changed (an agent reported verified items, or began a run) */
  MigrationProgressed: MigrationProgressPayload;
  /** storage -> recordings, all: every item is verified in CDS; CDS is ACTIVE */
  MigrationCompleted: MigrationProgressPayload & { region: string; completedAt: string };
  /** storage -> all: the run failed; local data is untouched, the PBX is MIGRATION_FAILED */
  MigrationFailed: MigrationProgressPayload & { error: string; failedAt: string };
  /** storage -> licensing: the CDS bytes a PBX uses changed (licensing sums them per holder against capacity) */
  CdsUsageChanged: { pbxId: string; usedBytes: number; revision: number };
  /** licensing -> (storageAlerts subscription): a holder's CDS usage reached 95% of its bundle's capacity (rule 10), once per crossing */
  StorageUsageAlertRaised: {
    holderType: 'NETWORK' | 'PBX';
    /** the network id, or the serial of a standalone PBX */
    holderId: string;
    customerId: string;
    usedBytes: number;
    capacityBytes: number;
    usageRatio: number;
    /** ISO-8601 */
    raisedAt: string;
  };
}

export type EventType = keyof EventPayloads;

/** Where a migration stands; carried by every migration event so consumers need no lookups. */
export interface MigrationProgressPayload {
  migrationId: string;
  pbxId: string;
  /** whose PBX it is, so subscribers can be filtered and scoped without lookups */
  customerId: string;
  networkId: string | null;
  status: MigrationStatus;
  itemsDone: number;
  itemsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Events that carry a full PBX snapshot. */
export const PBX_SNAPSHOT_EVENTS = ['PbxRegistered', 'PbxNetworkChanged', 'WmsVersionReported'] as const satisfies readonly EventType[];
