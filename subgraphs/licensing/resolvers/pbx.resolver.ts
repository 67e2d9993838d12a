import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { LicensingContext } from '../context';
import { Bundle } from '../entities/holder-views';
import { StaticIpAddress } from '../entities/static-ip-address';
import { PbxStub } from '../entities/stubs';
import { analyticsRetentionMonths, holderOfPbx } from '../holders';

/** A PBX's licensing: its holder's bundle and its own static IP. Reached through `_entities`, scoped there. */
@Resolver(() => PbxStub)
export class PbxLicensingResolver {
  @FieldResolver(() => Bundle, { description: "Its network's bundle, or its own when it is standalone" })
  async bundle(@Root() pbx: PbxStub, @Ctx() { loaders, services }: LicensingContext): Promise<Bundle> {
    const known = await services.runtime.directory.requirePbx(loaders.directory, pbx.id);
    return loaders.bundleOf(holderOfPbx(known));
  }

  @FieldResolver(() => Int, { description: 'How many months Cloud Analytics keeps its data (rule 6)' })
  async analyticsRetentionMonths(@Root() pbx: PbxStub, @Ctx() { loaders, services }: LicensingContext): Promise<number> {
    const known = await services.runtime.directory.requirePbx(loaders.directory, pbx.id);
    return analyticsRetentionMonths((await loaders.bundleOf(holderOfPbx(known))).tier);
  }

  @FieldResolver(() => StaticIpAddress, { nullable: true, description: 'The static IP assigned to it; null when it has none' })
  staticIp(@Root() pbx: PbxStub, @Ctx() { loaders }: LicensingContext): Promise<StaticIpAddress | null> {
    return loaders.staticIpOfPbx.load(pbx.id);
  }
}
