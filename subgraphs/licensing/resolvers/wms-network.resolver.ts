import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { LicensingContext } from '../context';
import { Bundle, HolderStorage, StaticIpUsage } from '../entities/holder-views';
import { WmsNetworkStub } from '../entities/stubs';
import { analyticsRetentionMonths, holderStorage, networkHolder, staticIpUsage } from '../holders';

/** A network's licensing: the bundle all its PBXs share (rule 7). Reached through `_entities`, scoped there. */
@Resolver(() => WmsNetworkStub)
export class WmsNetworkLicensingResolver {
  @FieldResolver(() => Bundle, { description: 'The bundle the network holds (DEFAULT when it holds none)' })
  bundle(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<Bundle> {
    return loaders.bundleOf(networkHolder(network.id));
  }

  @FieldResolver(() => Int, { description: "How many months Cloud Analytics keeps the network's data (rule 6)" })
  async analyticsRetentionMonths(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<number> {
    return analyticsRetentionMonths((await loaders.bundleOf(networkHolder(network.id))).tier);
  }

  @FieldResolver(() => StaticIpUsage, { description: "The network's static-IP allowance and how much of it is used (rule 8)" })
  async staticIpUsage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<StaticIpUsage> {
    const holder = networkHolder(network.id);
    const [bundle, pbxCount, assigned] = await Promise.all([
      loaders.bundleOf(holder), loaders.pbxCountOfHolder(holder), loaders.assignedStaticIpsOfNetwork.load(network.id),
    ]);
    return staticIpUsage(bundle.tier, pbxCount, assigned);
  }

  @FieldResolver(() => HolderStorage, { description: "CDS bytes used by the network's PBXs against its bundle's capacity" })
  async storage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<HolderStorage> {
    const [bundle, usedBytes] = await Promise.all([
      loaders.bundleOf(networkHolder(network.id)), loaders.usedBytesOfNetwork.load(network.id),
    ]);
    return holderStorage(bundle.tier, usedBytes);
  }
}
