import { BundleSource, CategoryState, CdsState, DataCategory, MigrationStatus, MigrationTrigger, PbxKind } from '../kernel/domain/enums';
import { HolderType } from '../subgraphs/licensing/holders';
import { seedLicensing } from '../subgraphs/licensing/seed';
import { seedRecordings } from '../subgraphs/recordings/seed';
import { seedStorage } from '../subgraphs/storage/seed';
import { RegisterPbxCommand } from '../subgraphs/network/provisioning';
import { Stack } from './stack';

export const DEMO_NETWORK_ID = 'acme-hq';

/** The contract's NetworkDashboard, pre-filled in the IDE. */
export const NETWORK_DASHBOARD_QUERY = `# The contract's NetworkDashboard: one request, four subgraphs.
query NetworkDashboard($networkId: ID!) {
  network(id: $networkId) {
    id
    name
    customer { id name }
    pbxCount
    bundle {
      tier { code storageBytes analyticsRetentionMonths staticIpAllowance }
      source
      effectiveFrom
      needsUpgrade
    }
    analyticsRetentionMonths
    staticIpUsage { allowance assigned available }
    storage { usedBytes capacityBytes usageRatio }
    pbxs {
      id
      name
      kind
      wmsVersion
      region
      cds { state region activatedAt usedBytes }
      currentMigration { id status trigger percent startedAt finishedAt }
      staticIp { address assignedAt }
    }
  }
}
`;

type DemoPbx = RegisterPbxCommand & { networkId: string | null };

const { CLOUD, VIRTUAL, HARDWARE } = PbxKind;
const NEW = '6.05.20231120.1';
const OLD = '6.04.20230915.3';

const CUSTOMERS = [
  { id: 'acme', name: 'Acme Logistics' },
  { id: 'brightway', name: 'Brightway Clinics' },
  { id: 'cobalt', name: 'Cobalt Legal' },
];
const NETWORKS = [
  { id: 'acme-hq', name: 'Acme HQ', customerId: 'acme' },
  { id: 'acme-branches', name: 'Acme Branches', customerId: 'acme' },
  { id: 'brightway-main', name: 'Brightway Main', customerId: 'brightway' },
];
const pbx = (
  id: string,
  name: string,
  kind: PbxKind,
  wmsVersion: string,
  region: string,
  customerId: string,
  networkId: string | null,
): DemoPbx => ({ id, name: `${name}.wildixin.com`, kind, wmsVersion, region, customerId, networkId });
const PBXS: DemoPbx[] = [
  // Acme HQ: 7 PBXs of every kind, in several CDS states.
  pbx('22110001d072', 'acme-hq-main', CLOUD, NEW, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d073', 'acme-hq-sales', CLOUD, NEW, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d074', 'acme-hq-support', CLOUD, NEW, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d075', 'acme-hq-lab', CLOUD, OLD, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d076', 'acme-hq-vm1', VIRTUAL, NEW, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d077', 'acme-hq-vm2', VIRTUAL, OLD, 'eu-central-1', 'acme', 'acme-hq'),
  pbx('22110001d078', 'acme-hq-rack', HARDWARE, NEW, 'eu-central-1', 'acme', 'acme-hq'),
  // Acme Branches: 4 PBXs, one of them with legacy licences.
  pbx('22110002a001', 'acme-milan', CLOUD, OLD, 'eu-south-1', 'acme', 'acme-branches'),
  pbx('22110002a002', 'acme-lyon', CLOUD, OLD, 'eu-west-3', 'acme', 'acme-branches'),
  pbx('22110002a003', 'acme-porto', VIRTUAL, OLD, 'eu-west-3', 'acme', 'acme-branches'),
  pbx('22110002a004', 'acme-depot', HARDWARE, OLD, 'eu-west-3', 'acme', 'acme-branches'),
  // Brightway: a network of one, and a standalone PBX without licences.
  pbx('22110003b001', 'brightway', CLOUD, NEW, 'us-east-1', 'brightway', 'brightway-main'),
  pbx('22110003b002', 'brightway-lab', HARDWARE, OLD, 'us-east-1', 'brightway', null),
  // Standalone PBXs with and without legacy licences.
  pbx('22110001e001', 'acme-warehouse', CLOUD, OLD, 'eu-central-1', 'acme', null),
  pbx('22110004c001', 'cobalt', CLOUD, NEW, 'eu-west-2', 'cobalt', null),
  pbx('22110004c002', 'cobalt-archive', VIRTUAL, OLD, 'eu-west-2', 'cobalt', null),
  pbx('22110004c003', 'cobalt-court', CLOUD, NEW, 'eu-west-2', 'cobalt', null),
];
const LEGACY_LICENSES = [
  { pbxId: '22110002a002', count: 2 },
  { pbxId: '22110001e001', count: 3 },
  { pbxId: '22110004c001', count: 6 },
];

const GB = 1_000_000_000;
const DAY = 24 * 3600 * 1000;

type Gql = (
  query: string,
  variables: Record<string, unknown>,
) => Promise<{ data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }>;

/**
 * Loads the demo dataset on first start: provisioning goes through the
 * gateway like a client's would (so events and replicas are real); the state
 * a running system would have built up (migrations, usage, recordings,
 * bundles held) is written directly into each subgraph's own tables.
 */
export async function seedDemoData(stack: Stack, adminToken: string): Promise<{ created: boolean }> {
  const gql: Gql = async (query, variables) => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as Awaited<ReturnType<Gql>>;
  };
  const must = async (query: string, variables: Record<string, unknown>) => {
    const result = await gql(query, variables);
    if (result.errors?.length) throw new Error(`demo data: ${result.errors.map((e) => e.message).join('; ')}`);
  };
  const existing = await gql('query ($id: ID!) { customer(id: $id) { id } }', { id: CUSTOMERS[0].id });
  if (!existing.errors?.length) return { created: false };

  for (const input of CUSTOMERS)
    await must('mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }', { input });
  for (const input of NETWORKS)
    await must('mutation ($input: CreateNetworkInput!) { createNetwork(input: $input) { network { id } } }', { input });
  for (const input of PBXS) await must('mutation ($input: RegisterPbxInput!) { registerPbx(input: $input) { pbx { id } } }', { input });
  for (const l of LEGACY_LICENSES)
    await must('mutation ($pbxId: ID!, $count: Int!) { setLegacyStorageLicenses(pbxId: $pbxId, count: $count) { count } }', l);
  await must('mutation ($region: String!, $addresses: [String!]!) { addStaticIpPool(region: $region, addresses: $addresses) { size } }', {
    region: 'eu-central-1',
    addresses: Array.from({ length: 16 }, (_, i) => `203.0.113.${10 + i}`),
  });
  await must('mutation ($region: String!, $addresses: [String!]!) { addStaticIpPool(region: $region, addresses: $addresses) { size } }', {
    region: 'eu-west-2',
    addresses: Array.from({ length: 8 }, (_, i) => `198.51.100.${20 + i}`),
  });
  await stack.settle();

  const now = Date.now();
  const migratedAt = new Date(now - 3 * DAY);
  const completed = (pbxId: string, region: string, recordings: number, recordingBytes: number, backups: number, backupBytes: number) => ({
    pbxId,
    status: MigrationStatus.COMPLETED,
    trigger: MigrationTrigger.WMS_UPGRADE,
    region,
    startedAt: new Date(migratedAt.getTime() - 3600_000),
    finishedAt: migratedAt,
    categories: [
      {
        category: DataCategory.CALL_RECORDINGS,
        state: CategoryState.COMPLETED,
        itemsTotal: recordings,
        itemsDone: recordings,
        bytesTotal: recordingBytes,
        bytesDone: recordingBytes,
      },
      {
        category: DataCategory.BACKUPS,
        state: CategoryState.COMPLETED,
        itemsTotal: backups,
        itemsDone: backups,
        bytesTotal: backupBytes,
        bytesDone: backupBytes,
      },
      {
        category: DataCategory.VOICEMAILS,
        state: CategoryState.NOT_SUPPORTED_YET,
        itemsTotal: 42,
        itemsDone: 0,
        bytesTotal: 21_000_000,
        bytesDone: 0,
      },
      {
        category: DataCategory.FAXES,
        state: CategoryState.NOT_SUPPORTED_YET,
        itemsTotal: 7,
        itemsDone: 0,
        bytesTotal: 3_500_000,
        bytesDone: 0,
      },
    ],
  });
  const usage = (pbxId: string, recordings: number, recordingBytes: number, backups: number, backupBytes: number) => [
    { pbxId, category: DataCategory.CALL_RECORDINGS, usedBytes: recordingBytes, itemCount: recordings },
    { pbxId, category: DataCategory.BACKUPS, usedBytes: backupBytes, itemCount: backups },
  ];
  const active = (pbxId: string, region: string) => ({ pbxId, state: CdsState.ACTIVE, region, activatedAt: migratedAt });
  const migrationIds = await seedStorage(stack.subgraphs.storage.runtime.db, {
    status: [
      active('22110001d072', 'eu-central-1'),
      active('22110001d073', 'eu-central-1'),
      active('22110001d078', 'eu-central-1'),
      active('22110003b001', 'us-east-1'),
      active('22110004c001', 'eu-west-2'),
      { pbxId: '22110001d074', state: CdsState.MIGRATING, region: 'eu-central-1' },
      { pbxId: '22110001d076', state: CdsState.MIGRATION_FAILED, region: 'eu-central-1' },
    ],
    usage: [
      ...usage('22110001d072', 240, 1.9 * GB, 12, 6.2 * GB),
      ...usage('22110001d073', 180, 1.4 * GB, 10, 5.1 * GB),
      ...usage('22110001d078', 60, 0.5 * GB, 4, 2.4 * GB),
      ...usage('22110003b001', 120, 0.9 * GB, 6, 3.95 * GB),
      ...usage('22110004c001', 300, 2.3 * GB, 14, 9.0 * GB),
    ],
    migrations: [
      completed('22110001d072', 'eu-central-1', 240, 1.9 * GB, 12, 6.2 * GB),
      completed('22110001d073', 'eu-central-1', 180, 1.4 * GB, 10, 5.1 * GB),
      { ...completed('22110001d078', 'eu-central-1', 60, 0.5 * GB, 4, 2.4 * GB), trigger: MigrationTrigger.ADMIN_SCRIPT },
      completed('22110003b001', 'us-east-1', 120, 0.9 * GB, 6, 3.95 * GB),
      completed('22110004c001', 'eu-west-2', 300, 2.3 * GB, 14, 9.0 * GB),
      {
        pbxId: '22110001d074',
        status: MigrationStatus.RUNNING,
        trigger: MigrationTrigger.WMS_UPGRADE,
        region: 'eu-central-1',
        startedAt: new Date(now - 20 * 60_000),
        categories: [
          {
            category: DataCategory.CALL_RECORDINGS,
            state: CategoryState.RUNNING,
            itemsTotal: 400,
            itemsDone: 170,
            bytesTotal: 3.2 * GB,
            bytesDone: 1.3 * GB,
          },
          { category: DataCategory.BACKUPS, state: CategoryState.PENDING, itemsTotal: 8, itemsDone: 0, bytesTotal: 4 * GB, bytesDone: 0 },
        ],
      },
      {
        pbxId: '22110001d076',
        status: MigrationStatus.FAILED,
        trigger: MigrationTrigger.ADMIN_SCRIPT,
        region: 'eu-central-1',
        startedAt: new Date(now - 2 * DAY),
        finishedAt: new Date(now - 2 * DAY + 600_000),
        error: 'recordings/2024/05/call-8812.wav could not be read: permission denied',
        categories: [
          {
            category: DataCategory.CALL_RECORDINGS,
            state: CategoryState.FAILED,
            itemsTotal: 90,
            itemsDone: 41,
            bytesTotal: 0.7 * GB,
            bytesDone: 0.3 * GB,
          },
        ],
      },
    ],
  });
  await seedLicensing(stack.subgraphs.licensing.runtime.db, {
    holdings: [
      {
        holderType: HolderType.NETWORK,
        holderId: 'acme-hq',
        tierCode: 'CDS-500',
        source: BundleSource.ORDERED,
        effectiveFrom: new Date('2024-03-01T00:00:00Z'),
      },
      {
        holderType: HolderType.PBX,
        holderId: '22110004c001',
        tierCode: 'CDS-500',
        source: BundleSource.ROUND_UP_TRANSITION,
        effectiveFrom: new Date('2024-02-01T00:00:00Z'),
      },
      {
        holderType: HolderType.PBX,
        holderId: '22110004c003',
        tierCode: 'CDS-10',
        source: BundleSource.ORDERED,
        effectiveFrom: new Date('2024-06-15T00:00:00Z'),
      },
    ],
    staticIps: [
      { address: '203.0.113.10', pbxId: '22110001d072' },
      { address: '203.0.113.11', pbxId: '22110001d073' },
      { address: '198.51.100.20', pbxId: '22110004c003' },
    ],
  });
  const recordingsDb = stack.subgraphs.recordings.runtime.db;
  await seedRecordings(recordingsDb, '22110001d072', 240, { migratedAt, migrationId: migrationIds[0], seed: 1 });
  await seedRecordings(recordingsDb, '22110001d073', 180, { migratedAt, migrationId: migrationIds[1], seed: 2 });
  await seedRecordings(recordingsDb, '22110001d074', 400, { migratedAt: null, seed: 3 });
  await seedRecordings(recordingsDb, '22110004c001', 300, { migratedAt, migrationId: migrationIds[4], seed: 4 });
  return { created: true };
}
