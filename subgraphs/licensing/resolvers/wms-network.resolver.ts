import { Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
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
  @FieldResolver(() => Bundle, {
    nullable: PARTIAL,
    description: 'The bundle the network holds (DEFAULT when it holds none)' + unlessDown('licensing'),
  })
  bundle(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<Bundle> {
    return loaders.bundleOf(networkHolder(network.id));
  }

  @FieldResolver(() => Int, {
    nullable: PARTIAL,
    description: "How many months Cloud Analytics keeps the network's data (rule 6)" + unlessDown('licensing'),
  })
  async analyticsRetentionMonths(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<number> {
    return analyticsRetentionMonths((await loaders.bundleOf(networkHolder(network.id))).tier);
  }

  @FieldResolver(() => StaticIpUsage, {
    nullable: PARTIAL,
    description: "The network's static-IP allowance and how much of it is used (rule 8)" + unlessDown('licensing'),
  })
  staticIpUsage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<StaticIpUsage> {
    return loaders.staticIpUsageOf(networkHolder(network.id));
  }

  @FieldResolver(() => HolderStorage, {
    nullable: PARTIAL,
    description: "CDS bytes used by the network's PBXs against its bundle's capacity" + unlessDown('licensing'),
  })
  storage(@Root() network: WmsNetworkStub, @Ctx() { loaders }: LicensingContext): Promise<HolderStorage> {
    return loaders.storageOf(networkHolder(network.id));
  }
}
