import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { LicensingContext } from '../context';
import { BundleTier } from '../entities/bundle-tier';
import { Bundle } from '../entities/holder-views';

@InputType({ description: 'Exactly one of networkId or pbxId' })
class OrderBundleInput {
  @Field(() => ID, { nullable: true, description: 'A network: the bundle all its PBXs share' }) networkId?: string | null;
  @Field(() => ID, { nullable: true, description: 'A standalone PBX (in no network): its own bundle' }) pbxId?: string | null;
  @Field({ description: 'CDS-10, CDS-50, CDS-500 or CDS-5000 (DEFAULT is what a holder has without a bundle and cannot be ordered)' })
  code!: string;
}

@ObjectType()
class OrderBundlePayload {
  @Field(() => Bundle, { description: 'The bundle the holder holds now' }) bundle!: Bundle;
}

@ObjectType('BundleDistributionRow', { description: 'How many holders hold one bundle tier' })
class BundleDistributionRow {
  @Field(() => BundleTier) tier!: BundleTier;
  @Field(() => Int, { description: 'Networks holding it (DEFAULT: holding no bundle)' }) networks!: number;
  @Field(() => Int, { description: 'Standalone PBXs holding it (DEFAULT: holding no bundle)' }) standalonePbxs!: number;
}

@Resolver()
export class BundleResolver {
  @Mutation(() => OrderBundlePayload, {
    description:
      "Admins, or the customer's partner: orders a bundle for a network or a standalone PBX (rule 7). Refused (CONFLICT) when the holder may not hold it, or for a PBX in a network (its network holds the bundle). Ordering the bundle already ordered changes nothing.",
  })
  async orderBundle(
    @Arg('input', () => OrderBundleInput) input: OrderBundleInput,
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<OrderBundlePayload> {
    return { bundle: await services.bundles.orderBundle(loaders, input) };
  }

  @Query(() => [BundleDistributionRow], {
    description:
      'Analysts and admins: how many networks and standalone PBXs hold each tier, every tier listed. With a region: standalone PBXs in it, and networks with at least one PBX in it.',
  })
  bundleDistribution(
    @Ctx() { services, loaders }: LicensingContext,
    @Arg('region', () => String, { nullable: true }) region?: string | null,
  ): Promise<BundleDistributionRow[]> {
    return services.bundles.bundleDistribution(loaders, region);
  }
}
