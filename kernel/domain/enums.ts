import { registerEnumType } from 'type-graphql';

/** The enums of the client contract (README, "Enums"), declared once for every subgraph. */

export enum PbxKind {
  CLOUD = 'CLOUD',
  VIRTUAL = 'VIRTUAL',
  HARDWARE = 'HARDWARE',
}
export enum CdsState {
  NOT_ACTIVATED = 'NOT_ACTIVATED',
  MIGRATING = 'MIGRATING',
  ACTIVE = 'ACTIVE',
  MIGRATION_FAILED = 'MIGRATION_FAILED',
}
export enum MigrationStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
}
export enum MigrationTrigger {
  WMS_UPGRADE = 'WMS_UPGRADE',
  ADMIN_SCRIPT = 'ADMIN_SCRIPT',
}
export enum DataCategory {
  CALL_RECORDINGS = 'CALL_RECORDINGS',
  BACKUPS = 'BACKUPS',
  VOICEMAILS = 'VOICEMAILS',
  FAXES = 'FAXES',
}
export enum CategoryState {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  NOT_SUPPORTED_YET = 'NOT_SUPPORTED_YET',
}
export enum RecordingLocation {
  LOCAL = 'LOCAL',
  CDS_WITH_LOCAL_COPY = 'CDS_WITH_LOCAL_COPY',
  CDS = 'CDS',
}
export enum BundleSource {
  DEFAULT = 'DEFAULT',
  ORDERED = 'ORDERED',
  ROUND_UP_TRANSITION = 'ROUND_UP_TRANSITION',
}

registerEnumType(PbxKind, { name: 'PbxKind', description: 'Where a PBX runs' });
registerEnumType(CdsState, { name: 'CdsState', description: 'Company Data Storage state of a PBX (DOMAIN.md rule 3)' });
registerEnumType(MigrationStatus, { name: 'MigrationStatus' });
registerEnumType(MigrationTrigger, { name: 'MigrationTrigger', description: 'What started a migration (rules 1 and 2)' });
registerEnumType(DataCategory, { name: 'DataCategory' });
registerEnumType(CategoryState, { name: 'CategoryState' });
registerEnumType(RecordingLocation, { name: 'RecordingLocation' });
registerEnumType(BundleSource, { name: 'BundleSource' });
