/** The shapes of the board's operations (src/operations/*.graphql), as the gateway answers them. */
export type PbxKind = 'CLOUD' | 'VIRTUAL' | 'HARDWARE';
export type CdsState = 'NOT_ACTIVATED' | 'MIGRATING' | 'ACTIVE' | 'MIGRATION_FAILED';
export type MigrationStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED';
export type DataCategory = 'CALL_RECORDINGS' | 'BACKUPS' | 'VOICEMAILS' | 'FAXES';
export type CategoryState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'NOT_SUPPORTED_YET';

export interface Tier {
  code: string;
  storageBytes: number;
  analyticsRetentionMonths: number;
  staticIpAllowance: number | null;
  standaloneOnly: boolean;
  maxNetworkPbxs: number | null;
}

export interface StaticIpUsage {
  allowance: number;
  assigned: number;
  available: number;
}
export interface HolderStorage {
  usedBytes: number;
  capacityBytes: number;
  usageRatio: number;
  alertActive: boolean;
  alertRaisedAt: string | null;
}
export interface StaticIp {
  address: string;
  assignedAt: string;
}

export interface CustomersData {
  customers: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: CustomerRow }[];
  };
}
export interface CustomerRow {
  id: string;
  name: string;
  networks: { id: string; name: string; pbxCount: number; bundle: { tier: { code: string }; needsUpgrade: boolean } }[];
  standalonePbxs: {
    id: string;
    name: string;
    kind: PbxKind;
    region: string;
    bundle: { tier: { code: string }; source: string };
    cds: { state: CdsState };
    staticIp: { address: string } | null;
  }[];
}

export interface DashboardPbx {
  id: string;
  name: string;
  kind: PbxKind;
  wmsVersion: string;
  region: string;
  cds: { state: CdsState; region: string | null; activatedAt: string | null; usedBytes: number };
  currentMigration: {
    id: string;
    status: MigrationStatus;
    trigger: string;
    percent: number;
    startedAt: string;
    finishedAt: string | null;
  } | null;
  staticIp: StaticIp | null;
}
export interface NetworkDashboardData {
  network: {
    id: string;
    name: string;
    customer: { id: string; name: string };
    pbxCount: number;
    bundle: {
      tier: { code: string; storageBytes: number; analyticsRetentionMonths: number; staticIpAllowance: number | null };
      source: string;
      effectiveFrom: string | null;
      needsUpgrade: boolean;
    };
    analyticsRetentionMonths: number;
    staticIpUsage: StaticIpUsage;
    storage: HolderStorage;
    pbxs: DashboardPbx[];
  };
}

export interface MigrationCategory {
  category: DataCategory;
  state: CategoryState;
  itemsTotal: number;
  itemsDone: number;
  bytesTotal?: number;
  bytesDone?: number;
}
export interface MigrationRow {
  id: string;
  status: MigrationStatus;
  trigger: string;
  percent: number;
  itemsTotal: number;
  itemsDone: number;
  bytesTotal: number;
  bytesDone: number;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  categories: MigrationCategory[];
}
export interface PbxDetailsData {
  pbx: {
    id: string;
    name: string;
    kind: PbxKind;
    wmsVersion: string;
    region: string;
    network: { id: string; name: string } | null;
    customer: { id: string; name: string };
    cds: {
      state: CdsState;
      region: string | null;
      activatedAt: string | null;
      usedBytes: number;
      usageByCategory: { category: DataCategory; usedBytes: number; itemCount: number }[];
    };
    migrations: MigrationRow[];
    bundle: { tier: { code: string; storageBytes: number }; source: string; effectiveFrom: string | null; needsUpgrade: boolean };
    analyticsRetentionMonths: number;
    staticIp: StaticIp | null;
    staticIpUsage: StaticIpUsage;
    holderStorage: HolderStorage;
  };
}

export interface RecordingNode {
  id: string;
  callId: string;
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  caller?: string | null;
  callee?: string | null;
  location: string;
  localCopyExpiresAt: string | null;
  sha256: string | null;
  playbackUrl?: string | null;
}
export interface RecordingsData {
  pbx: {
    id: string;
    recordings: {
      totalCount: number;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
      edges: { cursor: string; node: RecordingNode }[];
    };
  };
}

export interface MigrationProgressEvent {
  migrationProgress: {
    migration: {
      id: string;
      status: MigrationStatus;
      percent: number;
      itemsDone: number;
      itemsTotal: number;
      bytesDone: number;
      bytesTotal: number;
      categories: MigrationCategory[];
      pbx: {
        id: string;
        name: string;
        network: { id: string; name: string } | null;
        bundle: { tier: { code: string } };
        cds: { state: CdsState };
      };
    };
  };
}

export interface OverviewData {
  cdsOverview: {
    pbxCount: number;
    usedBytes: number;
    byState: { state: CdsState; pbxCount: number }[];
    byCategory: { category: DataCategory; usedBytes: number; itemCount: number }[];
    migrationsByStatus: { status: MigrationStatus; count: number }[];
  };
  bundleDistribution: { tier: { code: string }; networks: number; standalonePbxs: number }[];
}

export interface TransitionData {
  runLegacyLicenseTransition: {
    dryRun: boolean;
    changed: number;
    decisions: {
      customerId: string;
      networkId: string | null;
      pbxId: string | null;
      pbxCount: number;
      legacyLicenses: number;
      code: string;
      rule: string;
      applied: boolean;
    }[];
  };
}
