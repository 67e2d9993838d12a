import { Column, DataSource, Entity, EntityManager, MigrationInterface, PrimaryColumn, QueryRunner, Table } from 'typeorm';
import DataLoader from 'dataloader';
import { col } from './columns';
import { PbxKind } from './domain/enums';
import { notFound } from './errors';
import { Consumption } from './events/envelope';
import { EventPayloads, PBX_SNAPSHOT_EVENTS, PbxSnapshot } from './events/catalog';
import { EventApplier } from './events/outbox';
import { Ownership } from './identity';
import { countLoader, groupedLoader, keyedLoader } from './loaders';
import { componentLogger } from './log';
import { selectRows } from './rows';

const log = componentLogger('directory');

/**
 * The directory: each subgraph's own read-only replica of who owns what
 * (PBX -> network -> customer, kind, region, version), fed by the network
 * subgraph's events. Subgraphs use it to scope every lookup, `_entities`
 * included, without trusting what a caller puts into a representation and
 * without calling another subgraph.
 */

@Entity('directory_pbx')
export class DirectoryPbx {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ type: 'varchar', length: 253 }) name!: string;
  @Column({ type: 'varchar', length: 16 }) kind!: PbxKind;
  @Column({ type: 'varchar', length: 64 }) wmsVersion!: string;
  @Column({ type: 'varchar', length: 32 }) region!: string;
  @Column({ type: 'varchar', length: 64 }) customerId!: string;
  @Column({ type: 'varchar', length: 64, nullable: true }) networkId!: string | null;
  @Column({ type: 'int' }) revision!: number;
}

@Entity('directory_network')
export class DirectoryNetwork {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ type: 'varchar', length: 200 }) name!: string;
  @Column({ type: 'varchar', length: 64 }) customerId!: string;
}

export const DIRECTORY_ENTITIES = [DirectoryPbx, DirectoryNetwork];

export class CreateDirectoryTables1700000000001 implements MigrationInterface {
  name = 'CreateDirectoryTables1700000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'directory_pbx',
        columns: [
          col.id('id'),
          col.string('name', 253),
          col.string('kind', 16),
          col.string('wmsVersion', 64),
          col.string('region', 32),
          col.string('customerId', 64),
          col.string('networkId', 64, true),
          col.int('revision'),
        ],
        indices: [
          { name: 'IX_directory_pbx_network', columnNames: ['networkId'] },
          { name: 'IX_directory_pbx_customer', columnNames: ['customerId'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'directory_network',
        columns: [col.id('id'), col.string('name', 200), col.string('customerId', 64)],
        indices: [{ name: 'IX_directory_network_customer', columnNames: ['customerId'] }],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('directory_network');
    await q.dropTable('directory_pbx');
  }
}

export const pbxOwnership = (pbx: Pick<DirectoryPbx, 'id' | 'customerId' | 'networkId'>): Ownership => ({
  customerId: pbx.customerId,
  networkId: pbx.networkId,
  pbxId: pbx.id,
});
export const networkOwnership = (network: Pick<DirectoryNetwork, 'id' | 'customerId'>): Ownership => ({
  customerId: network.customerId,
  networkId: network.id,
  pbxId: null,
});

/** Upserts a snapshot unless the replica already holds a newer one (events may arrive twice or late). */
async function applyPbxSnapshot(em: EntityManager, pbx: PbxSnapshot): Promise<void> {
  const current = await em.findOneBy(DirectoryPbx, { id: pbx.id });
  if (current && current.revision >= pbx.revision) return;
  await em.save(
    DirectoryPbx,
    em.create(DirectoryPbx, {
      id: pbx.id,
      name: pbx.name,
      kind: pbx.kind,
      wmsVersion: pbx.wmsVersion,
      region: pbx.region,
      customerId: pbx.customerId,
      networkId: pbx.networkId,
      revision: pbx.revision,
    }),
  );
}

/** The event appliers that keep the replica; a subgraph merges them with its own. */
export function directoryAppliers(): Record<string, EventApplier> {
  const appliers: Record<string, EventApplier> = {
    NetworkCreated: async (em, event) => {
      const { network } = event.payload as EventPayloads['NetworkCreated'];
      await em.save(DirectoryNetwork, em.create(DirectoryNetwork, network));
    },
  };
  for (const type of PBX_SNAPSHOT_EVENTS) {
    appliers[type] = (em, event) => applyPbxSnapshot(em, (event.payload as { pbx: PbxSnapshot }).pbx);
  }
  return appliers;
}

/** Request-scoped loaders over the replica. */
export function createDirectoryLoaders(db: DataSource) {
  const pbxs = db.getRepository(DirectoryPbx);
  return {
    pbx: keyedLoader<string, DirectoryPbx>(
      (ids) => selectRows(db, DirectoryPbx, { whereIn: ['id', ids] }),
      (p) => p.id,
    ),
    network: keyedLoader<string, DirectoryNetwork>(
      (ids) => selectRows(db, DirectoryNetwork, { whereIn: ['id', ids] }),
      (n) => n.id,
    ),
    pbxsOfNetwork: groupedLoader<string, DirectoryPbx>(
      (ids) => selectRows(db, DirectoryPbx, { whereIn: ['networkId', ids], orderBy: [['id', 'ASC']] }),
      (p) => p.networkId ?? '',
    ),
    pbxCountOfNetwork: countLoader(pbxs, 'networkId'),
  };
}
export type DirectoryLoaders = ReturnType<typeof createDirectoryLoaders>;

/**
 * Looks things up in the replica; when an id is missing it first waits for the
 * replica to catch up with every event already published (read-your-writes for
 * a client that just registered a PBX), then answers NOT_FOUND.
 */
export class Directory {
  constructor(private readonly consumption: () => Consumption | null) {}

  async catchUp(): Promise<void> {
    await this.consumption()
      ?.caughtUp(3000)
      .catch((error) => log.warn({ err: error }, 'directory catch-up timed out'));
  }

  async requirePbx(loaders: DirectoryLoaders, id: string): Promise<DirectoryPbx> {
    return this.require(loaders.pbx, id, 'PBX');
  }

  /**
   * The PBX at least at `revision` (what the network subgraph just said it
   * is, passed through `@requires(fields: "revision")`): read-your-writes for
   * fields that depend on its version or network. Null when unknown.
   */
  async freshPbx(loaders: DirectoryLoaders, id: string, revision?: number | null): Promise<DirectoryPbx | null> {
    const known = await loaders.pbx.load(id);
    if (known && (revision === undefined || revision === null || known.revision >= revision)) return known;
    await this.catchUp();
    loaders.pbx.clear(id);
    return loaders.pbx.load(id);
  }

  async requireNetwork(loaders: DirectoryLoaders, id: string): Promise<DirectoryNetwork> {
    return this.require(loaders.network, id, 'Network');
  }

  private async require<T>(loader: DataLoader<string, T | null>, id: string, what: string): Promise<T> {
    const found = await loader.load(id);
    if (found) return found;
    await this.catchUp();
    loader.clear(id);
    const again = await loader.load(id);
    if (!again) throw notFound(what, id);
    return again;
  }
}
