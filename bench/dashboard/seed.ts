import { BundleSource, CategoryState, CdsState, DataCategory, MigrationStatus, MigrationTrigger, PbxKind } from '../../kernel/domain/enums';
import { signToken } from '../../kernel/identity';
import { HolderType } from '../../subgraphs/licensing/holders';
import { seedLicensing } from '../../subgraphs/licensing/seed';
import { seedStorage, SeedMigration } from '../../subgraphs/storage/seed';
import { startStack } from '../../dev/stack';

/**
 * The benchmark's networks (`bench-<n>` of n PBXs each, customer `bench-co-<n>`) in
 * MariaDB databases `<prefix>_<subgraph>`. Provisioning goes through a gateway
 * like a client's would (events and directory replicas are real); the state a
 * running system builds up (CDS activations, usage, migrations, bundles, static
 * IPs) is written into each subgraph's tables, as the demo data does.
 * Reuses what an earlier run seeded when it is complete.
 */
export const networkId = (size: number) => `bench-${size}`;

const GB = 1_000_000_000;
const serial = (size: number, i: number) => `b${size.toString(16).padStart(3, '0')}${i.toString(16).padStart(8, '0')}`;

export async function seedNetworks(options: {
  mysqlUrl: string;
  prefix: string;
  sizes: number[];
  secret: string;
  log: (line: string) => void;
}): Promise<void> {
  const stack = await startStack({
    db: { kind: 'mysql', url: options.mysqlUrl, prefix: options.prefix },
    jwtSecret: options.secret,
    gatewayPort: 0,
  });
  const admin = signToken(options.secret, { sub: 'bench-seed', role: 'admin' });
  const gql = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data!;
  };
  try {
    for (const size of options.sizes) {
      const id = networkId(size);
      const existing = (await gql('query ($id: ID!) { network(id: $id) { id pbxCount staticIpUsage { assigned } } }', { id }).catch(
        (error: Error) => {
          options.log(`no seeded network ${id} yet (${error.message})`);
          return null;
        },
      )) as { network?: { id: string; pbxCount: number; staticIpUsage: { assigned: number } } } | null;
      const found = existing?.network;
      if (found && found.pbxCount === size && found.staticIpUsage.assigned > 0) {
        options.log(`network ${id}: already seeded`);
        continue;
      }
      if (found) throw new Error(`network ${id} is half seeded: drop the databases ${options.prefix}_* and run again`);
      options.log(`network ${id}: seeding ${size} PBXs`);
      const customerId = `bench-co-${size}`;
      await gql('mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }', {
        input: { id: customerId, name: `Bench customer ${size}` },
      });
      await gql('mutation ($input: CreateNetworkInput!) { createNetwork(input: $input) { network { id } } }', {
        input: { id, name: id, customerId },
      });
      const kinds = [PbxKind.CLOUD, PbxKind.VIRTUAL, PbxKind.HARDWARE];
      const pbxs = Array.from({ length: size }, (_, i) => ({ id: serial(size, i), kind: kinds[i % 3] }));
      // Four at a time: as several provisioning clients would.
      for (let at = 0; at < pbxs.length; at += 4) {
        await Promise.all(
          pbxs.slice(at, at + 4).map((p) =>
            gql('mutation ($input: RegisterPbxInput!) { registerPbx(input: $input) { pbx { id } } }', {
              input: {
                id: p.id,
                name: `pbx-${p.id}.wildixin.com`,
                kind: p.kind,
                wmsVersion: '6.04.20230901.1',
                region: 'eu-central-1',
                customerId,
                networkId: id,
              },
            }),
          ),
        );
      }
      await stack.settle();
      const activatedAt = new Date('2026-10-01T08:00:00Z');
      const active = pbxs.filter((_, i) => i % 3 === 0);
      const migrating = pbxs.filter((_, i) => i % 10 === 1);
      await seedStorage(stack.subgraphs.storage.runtime.db, {
        status: [
          ...active.map((p) => ({ pbxId: p.id, state: CdsState.ACTIVE, region: 'eu-central-1', activatedAt })),
          ...migrating.map((p) => ({ pbxId: p.id, state: CdsState.MIGRATING, region: 'eu-central-1' })),
        ],
        usage: active.flatMap((p, i) => [
          { pbxId: p.id, category: DataCategory.CALL_RECORDINGS, usedBytes: (i + 1) * 0.01 * GB, itemCount: 10 + i },
          { pbxId: p.id, category: DataCategory.BACKUPS, usedBytes: (i + 1) * 0.02 * GB, itemCount: 2 },
        ]),
        migrations: migrating.map((p, i): SeedMigration => ({
          pbxId: p.id,
          status: MigrationStatus.RUNNING,
          trigger: MigrationTrigger.ADMIN_SCRIPT,
          region: 'eu-central-1',
          startedAt: new Date(activatedAt.getTime() + i * 60_000),
          categories: [
            {
              category: DataCategory.CALL_RECORDINGS,
              state: CategoryState.RUNNING,
              itemsTotal: 100,
              itemsDone: 30 + (i % 60),
              bytesTotal: GB,
              bytesDone: 0.3 * GB,
            },
          ],
        })),
      });
      const withIp = pbxs.filter((_, i) => i % 6 === 0);
      const addresses = withIp.map((_, i) => `10.${size % 256}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
      await seedLicensing(stack.subgraphs.licensing.runtime.db, {
        holdings: [
          {
            holderType: HolderType.NETWORK,
            holderId: id,
            tierCode: 'CDS-5000',
            source: BundleSource.ORDERED,
            effectiveFrom: new Date('2026-09-01T00:00:00Z'),
          },
        ],
        pools: [{ region: 'eu-central-1', addresses }],
        staticIps: withIp.map((p, i) => ({ address: addresses[i], pbxId: p.id, assignedAt: activatedAt })),
      });
      await stack.settle();
    }
  } finally {
    await stack.stop();
  }
}
