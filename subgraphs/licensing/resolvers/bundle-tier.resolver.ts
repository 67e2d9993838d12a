import { Ctx, Query, Resolver } from 'type-graphql';
import { LicensingContext } from '../context';
import { BundleTier } from '../entities/bundle-tier';

@Resolver(() => BundleTier)
export class BundleTierResolver {
  @Query(() => [BundleTier], { description: 'The bundle catalogue: DEFAULT first, then smallest to largest' })
  async bundleTiers(@Ctx() { loaders }: LicensingContext): Promise<readonly BundleTier[]> {
    // The catalogue is public to every caller with a valid token: it holds nothing of any customer.
    return (await loaders.tiers()).tiers;
  }
}
