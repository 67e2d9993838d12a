import { EntityManager } from 'typeorm';
import { isDuplicateKeyError } from '../../kernel/database';
import { DirectoryPbx, pbxOwnership } from '../../kernel/directory';
import { PbxKind } from '../../kernel/domain/enums';
import { conflict } from '../../kernel/errors';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { StaticIpUsage } from './entities/holder-views';
import { StaticIpAddress } from './entities/static-ip-address';
import { assignedStaticIpsIn, catalogueIn, holdingsIn, networkPbxCountsIn } from './holder-facts';
import { describeHolder, Holder, holderKey, holderOfPbx, HolderType, staticIpUsage } from './holders';
import { LicensingLoaders } from './loaders';
import { LicensingWrites } from './writes';

export interface StaticIpAssignment {
  staticIp: StaticIpAddress;
  usage: StaticIpUsage;
}

export interface StaticIpRelease {
  released: boolean;
  /** the address that went back to the pool; null when the PBX held none */
  address: string | null;
  usage: StaticIpUsage;
}

/**
 * Static IPs (rule 8), assigned by hand by an admin or the customer's partner
 * (analysts never mutate; a PBX does not assign itself one).
 * What the database guarantees, whatever runs at the same moment:
 * - an address is never on two PBXs: one row per address, and an address is
 *   taken by `UPDATE ... WHERE pbxId IS NULL` of a row picked FOR UPDATE SKIP LOCKED;
 * - a PBX holds at most one: unique index on pbxId;
 * - never beyond the holder's allowance: the count and the assignment happen
 *   under the holder's lock row (see writes.ts), so concurrent requests for
 *   one holder are counted one after the other.
 * **Decision:** assigning to a PBX that already holds an address returns
 * that address unchanged (a retried request gets the same answer); releasing
 * from a PBX that holds none answers `released: false`. Neither is an error.
 */
export class StaticIpService {
  constructor(
    private readonly runtime: SubgraphRuntime,
    private readonly writes: LicensingWrites,
  ) {}

  async assign(loaders: LicensingLoaders, pbxId: string): Promise<StaticIpAssignment> {
    const pbx = await this.pbxForChange(loaders, pbxId, 'assign static IPs');
    const holder = holderOfPbx(pbx);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writes.forHolder(holder, (em) => this.assignUnderLock(em, pbx, holder));
      } catch (error) {
        // The PBX's unique key caught a twin request (the PBX changed holder in between): the next run finds its address.
        if (!isDuplicateKeyError(error) || attempt >= 3) throw error;
      }
    }
  }

  private async assignUnderLock(em: EntityManager, pbx: DirectoryPbx, holder: Holder): Promise<StaticIpAssignment> {
    const existing = await em.findOneBy(StaticIpAddress, { pbxId: pbx.id });
    const { usage, tierCode } = await this.usageIn(em, holder);
    if (existing) return { staticIp: existing, usage };
    if (usage.available <= 0) {
      const holds = `${describeHolder(holder)} holds ${tierCode}, which allows ${usage.allowance === 1 ? '1 PBX' : `${usage.allowance} PBXs`} with a static IP`;
      const already = `${usage.assigned} ${usage.assigned === 1 ? 'has' : 'have'} one`;
      throw conflict(
        `No static IP assigned to PBX '${pbx.id}': the static-IP allowance is used up (${holds}; ${already}). Release one, or order a larger bundle.`,
      );
    }
    for (;;) {
      const free = await this.writes
        .forUpdateSkipLocked(em.getRepository(StaticIpAddress).createQueryBuilder('s'))
        .where('s.region = :region AND s.pbxId IS NULL', { region: pbx.region })
        .orderBy('s.address', 'ASC')
        .limit(1)
        .getOne();
      if (!free) {
        throw conflict(
          `No static IP assigned to PBX '${pbx.id}': the static-IP pool of region ${pbx.region} is empty (every address in it is assigned). An admin can add addresses to it.`,
        );
      }
      const assignedAt = new Date();
      const taken = await em
        .createQueryBuilder()
        .update(StaticIpAddress)
        .set({ pbxId: pbx.id, assignedAt })
        .where('address = :address AND pbxId IS NULL', { address: free.address })
        .execute();
      // Another holder's request took this address between the pick and the update: pick again.
      if (taken.affected !== 1) continue;
      return {
        staticIp: { address: free.address, region: free.region, pbxId: pbx.id, assignedAt },
        usage: {
          ...usage,
          assigned: usage.assigned + 1,
          available: Math.max(0, usage.available - 1),
          overAllowance: usage.assigned + 1 > usage.allowance,
        },
      };
    }
  }

  async release(loaders: LicensingLoaders, pbxId: string): Promise<StaticIpRelease> {
    const pbx = await this.pbxForChange(loaders, pbxId, 'release static IPs');
    const holder = holderOfPbx(pbx);
    return this.writes.forHolder(holder, async (em) => {
      const held = await em.findOneBy(StaticIpAddress, { pbxId: pbx.id });
      if (held) {
        await em
          .createQueryBuilder()
          .update(StaticIpAddress)
          .set({ pbxId: null, assignedAt: null })
          .where('address = :address AND pbxId = :pbx', { address: held.address, pbx: pbx.id })
          .execute();
      }
      const { usage } = await this.usageIn(em, holder);
      return { released: held !== null, address: held?.address ?? null, usage };
    });
  }

  /** The holder's allowance and use, read inside the command's transaction (under its lock). */
  private async usageIn(em: EntityManager, holder: Holder): Promise<{ usage: StaticIpUsage; tierCode: string }> {
    const catalogue = await catalogueIn(em);
    const holding = (await holdingsIn(em, [holder])).get(holderKey(holder));
    const tier = holding ? catalogue.get(holding.tierCode) : catalogue.defaultTier;
    const pbxCount = holder.type === HolderType.NETWORK ? ((await networkPbxCountsIn(em, [holder.id])).get(holder.id) ?? 0) : 1;
    return { usage: staticIpUsage(tier, pbxCount, await assignedStaticIpsIn(em, holder)), tierCode: tier.code };
  }

  /** The PBX, once the caller may change it and it is a cloud PBX (rule 8: static IPs do not apply to others). */
  private async pbxForChange(loaders: LicensingLoaders, pbxId: string, action: string): Promise<DirectoryPbx> {
    requireRole(loaders.scope.identity, ['admin', 'partner'], action);
    const pbx = await this.runtime.directory.requirePbx(loaders.directory, pbxId.trim().toLowerCase());
    await loaders.scope.assertActs(pbxOwnership(pbx), 'PBX', pbx.id);
    if (pbx.kind !== PbxKind.CLOUD) {
      const kind = pbx.kind === PbxKind.VIRTUAL ? 'a virtual' : 'a hardware';
      throw conflict(`PBX '${pbx.id}' is ${kind} PBX: static IPs are for cloud PBXs only and do not apply to virtual or hardware PBXs`);
    }
    return pbx;
  }
}
