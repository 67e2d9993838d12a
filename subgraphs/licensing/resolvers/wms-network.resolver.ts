import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { LicensingContext } from '../context';
import { Bundle, HolderStorage, StaticIpUsage } from '../entities/holder-views';
import { WmsNetworkStub } from '../entities/stubs';
import { analyticsRetentionMonths, networkHolder } from '../holders';

/**
 * A network's licensing: the bundle all its PBXs share (rule 7). Reached
 * through `_entities`, scoped there. Everything follows from the directory's
 * current PBXs, so a PBX joining or leaving changes allowance and needsUpgrade
 * at once.
 */
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
  staticIpUsage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<StaticIpUsage> {
    return loaders.staticIpUsageOf(networkHolder(network.id));
  }

  @FieldResolver(() => HolderStorage, { description: "CDS bytes used by the network's PBXs against its bundle's capacity" })
  storage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<HolderStorage> {
    return loaders.storageOf(networkHolder(network.id));
  }
}
