import { Arg, Ctx, ID, Int, Mutation, Resolver } from 'type-graphql';
import { LicensingContext } from '../context';
import { LegacyLicense } from '../entities/legacy-license';
import { StaticIpPool } from '../entities/static-ip-address';

@Resolver()
export class LicensingProvisioningResolver {
  @Mutation(() => LegacyLicense, { description: 'Admins only: the storage licences a PBX bought before bundles existed (0 to 10000)' })
  setLegacyStorageLicenses(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('count', () => Int) count: number,
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<LegacyLicense> {
    return services.provisioning.setLegacyStorageLicenses(loaders, pbxId, count);
  }

  @Mutation(() => StaticIpPool, {
    description:
      "Admins only: adds IPv4 addresses (at most 4096 per call) to a region's static-IP pool. Addresses already in this region's pool are ignored; one in another region's pool refuses the call (CONFLICT).",
  })
  addStaticIpPool(
    @Arg('region') region: string,
    @Arg('addresses', () => [String]) addresses: string[],
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<StaticIpPool> {
    return services.provisioning.addStaticIpPool(loaders, region, addresses);
  }
}
