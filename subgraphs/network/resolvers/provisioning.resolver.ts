import { Arg, Ctx, Field, ID, InputType, Mutation, ObjectType, Resolver } from 'type-graphql';
import { PbxKind } from '../../../kernel/domain/enums';
import { NetworkContext } from '../context';
import { Customer } from '../entities/customer';
import { Pbx } from '../entities/pbx';
import { WmsNetwork } from '../entities/wms-network';

@InputType()
class CreateCustomerInput {
  @Field(() => ID, { nullable: true, description: 'Generated when not given' }) id?: string | null;
  @Field() name!: string;
}

@InputType()
class CreateNetworkInput {
  @Field(() => ID, { nullable: true, description: 'Generated when not given' }) id?: string | null;
  @Field() name!: string;
  @Field(() => ID) customerId!: string;
}

@InputType()
class RegisterPbxInput {
  @Field(() => ID, { description: 'The serial, 12 hexadecimal characters' }) id!: string;
  @Field() name!: string;
  @Field(() => PbxKind) kind!: PbxKind;
  @Field() wmsVersion!: string;
  @Field() region!: string;
  @Field(() => ID) customerId!: string;
  @Field(() => ID, { nullable: true, description: 'A network of the same customer; none for a standalone PBX' }) networkId?: string | null;
}

@ObjectType()
class CreateCustomerPayload {
  @Field(() => Customer) customer!: Customer;
}
@ObjectType()
class CreateNetworkPayload {
  @Field(() => WmsNetwork) network!: WmsNetwork;
}
@ObjectType()
class RegisterPbxPayload {
  @Field(() => Pbx) pbx!: Pbx;
}
@ObjectType()
class AssignPbxToNetworkPayload {
  @Field(() => Pbx) pbx!: Pbx;
}
@ObjectType()
class ReportWmsVersionPayload {
  @Field(() => Pbx) pbx!: Pbx;
}

@Resolver()
export class ProvisioningResolver {
  @Mutation(() => CreateCustomerPayload, { description: 'Admins only' })
  async createCustomer(@Arg('input', () => CreateCustomerInput) input: CreateCustomerInput, @Ctx() { services, loaders }: NetworkContext) {
    return { customer: await services.provisioning.createCustomer(loaders, input) };
  }

  @Mutation(() => CreateNetworkPayload, { description: "Admins, or the customer's partner" })
  async createNetwork(@Arg('input', () => CreateNetworkInput) input: CreateNetworkInput, @Ctx() { services, loaders }: NetworkContext) {
    return { network: await services.provisioning.createNetwork(loaders, input) };
  }

  @Mutation(() => RegisterPbxPayload, { description: "Admins, or the customer's partner. CDS starts NOT_ACTIVATED." })
  async registerPbx(@Arg('input', () => RegisterPbxInput) input: RegisterPbxInput, @Ctx() { services, loaders }: NetworkContext) {
    return { pbx: await services.provisioning.registerPbx(loaders, input) };
  }

  @Mutation(() => AssignPbxToNetworkPayload, {
    description: 'Moves a PBX into a network of its customer, or makes it standalone (networkId null)',
  })
  async assignPbxToNetwork(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('networkId', () => ID, { nullable: true }) networkId: string | null,
    @Ctx() { services, loaders }: NetworkContext,
  ) {
    return { pbx: await services.provisioning.assignPbxToNetwork(loaders, pbxId, networkId ?? null) };
  }

  @Mutation(() => ReportWmsVersionPayload, { description: 'A PBX (its own serial) or an admin/partner reports the WMS version it runs' })
  async reportWmsVersion(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('version') version: string,
    @Ctx() { services, loaders }: NetworkContext,
  ) {
    return { pbx: await services.provisioning.reportWmsVersion(loaders, pbxId, version) };
  }
}
