import { Arg, Ctx, Field, ID, Mutation, ObjectType, Resolver } from 'type-graphql';
import { LicensingContext } from '../context';
import { StaticIpUsage } from '../entities/holder-views';
import { StaticIpAddress } from '../entities/static-ip-address';

@ObjectType()
class AssignStaticIpPayload {
  @Field(() => StaticIpAddress, { description: 'The address the PBX holds' }) staticIp!: StaticIpAddress;
  @Field(() => StaticIpUsage, { description: "Its holder's allowance and use, after the assignment" }) usage!: StaticIpUsage;
}

@ObjectType()
class ReleaseStaticIpPayload {
  @Field({ description: 'Whether the PBX held an address that went back to the pool' }) released!: boolean;
  @Field(() => String, { nullable: true, description: 'The address released; null when the PBX held none' }) address!: string | null;
  @Field(() => StaticIpUsage, { description: "Its holder's allowance and use, after the release" }) usage!: StaticIpUsage;
}

@Resolver()
export class StaticIpResolver {
  @Mutation(() => AssignStaticIpPayload, {
    description:
      "Admins, or the customer's partner: assigns a cloud PBX an address from its region's pool (rule 8), within its holder's allowance. A PBX that already holds one gets it back unchanged. CONFLICT for virtual and hardware PBXs, an allowance used up, or an empty pool.",
  })
  async assignStaticIp(
    @Arg('pbxId', () => ID) pbxId: string,
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<AssignStaticIpPayload> {
    return services.staticIps.assign(loaders, pbxId);
  }

  @Mutation(() => ReleaseStaticIpPayload, {
    description:
      "Admins, or the customer's partner: returns a cloud PBX's static IP to its region's pool; `released` false when it held none",
  })
  async releaseStaticIp(
    @Arg('pbxId', () => ID) pbxId: string,
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<ReleaseStaticIpPayload> {
    return services.staticIps.release(loaders, pbxId);
  }
}
