import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { LicensingContext } from '../context';
import { Bundle, HolderStorage, StaticIpUsage } from '../entities/holder-views';
import { StaticIpAddress } from '../entities/static-ip-address';
import { PbxStub } from '../entities/stubs';
import { analyticsRetentionMonths, Holder, holderOfPbx } from '../holders';

/**
 * A PBX's licensing: its holder's bundle and its own static IP. Reached
 * through `_entities`, scoped there. The holder comes from the directory on
 * every request, so a PBX that joins or leaves a network follows its new
 * holder's bundle, capacity, allowance and retention at once.
 */
@Resolver(() => PbxStub)
export class PbxLicensingResolver {
  private async holder(pbx: PbxStub, { loaders, services }: LicensingContext): Promise<Holder> {
    return holderOfPbx(await services.runtime.directory.requirePbx(loaders.directory, pbx.id));
  }

  @FieldResolver(() => Bundle, {
    nullable: PARTIAL,
    description: "Its network's bundle, or its own when it is standalone" + unlessDown('licensing'),
  })
  async bundle(@Root() pbx: PbxStub, @Ctx() context: LicensingContext): Promise<Bundle> {
    return context.loaders.bundleOf(await this.holder(pbx, context));
  }

  @FieldResolver(() => Int, {
    nullable: PARTIAL,
    description: 'How many months Cloud Analytics keeps its data (rule 6)' + unlessDown('licensing'),
  })
  async analyticsRetentionMonths(@Root() pbx: PbxStub, @Ctx() context: LicensingContext): Promise<number> {
    return analyticsRetentionMonths((await context.loaders.bundleOf(await this.holder(pbx, context))).tier);
  }

  @FieldResolver(() => StaticIpAddress, { nullable: true, description: 'The static IP assigned to it; null when it has none' })
  staticIp(@Root() pbx: PbxStub, @Ctx() { loaders }: LicensingContext): Promise<StaticIpAddress | null> {
    return loaders.staticIpOfPbx.load(pbx.id);
  }

  @FieldResolver(() => StaticIpUsage, {
    nullable: PARTIAL,
    description:
      "Its holder's static-IP allowance and use: its network's, or its own when it is standalone (rule 8)" + unlessDown('licensing'),
  })
  async staticIpUsage(@Root() pbx: PbxStub, @Ctx() context: LicensingContext): Promise<StaticIpUsage> {
    return context.loaders.staticIpUsageOf(await this.holder(pbx, context));
  }

  @FieldResolver(() => HolderStorage, {
    nullable: PARTIAL,
    description:
      "Its holder's CDS storage against the bundle's capacity, with the usage alert: its network's, or its own when it is standalone" +
      unlessDown('licensing'),
  })
  async holderStorage(@Root() pbx: PbxStub, @Ctx() context: LicensingContext): Promise<HolderStorage> {
    return context.loaders.storageOf(await this.holder(pbx, context));
  }
}
