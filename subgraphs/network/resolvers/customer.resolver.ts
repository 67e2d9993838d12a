import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../../../kernel/errors';
import { NetworkContext } from '../context';
import { Customer } from '../entities/customer';
import { Pbx } from '../entities/pbx';
import { WmsNetwork } from '../entities/wms-network';
import { customerOwnershipOf, networkOwnershipOf, pbxOwnershipOf } from '../loaders';

@Resolver(() => Customer)
export class CustomerResolver {
  @Query(() => Customer, { nullable: true, description: 'A customer; NOT_FOUND when there is none with this id' })
  async customer(@Arg('id', () => ID) id: string, @Ctx() { loaders }: NetworkContext): Promise<Customer> {
    const customer = await loaders.customer.load(id);
    if (!customer) throw notFound('Customer', id);
    await loaders.scope.assertSees(customerOwnershipOf(customer), 'Customer', id);
    return customer;
  }

  @FieldResolver(() => [WmsNetwork], { description: 'Its WMS networks, by name' })
  async networks(@Root() customer: Customer, @Ctx() { loaders }: NetworkContext): Promise<WmsNetwork[]> {
    return loaders.scope.filter(await loaders.networksOfCustomer.load(customer.id), networkOwnershipOf);
  }

  @FieldResolver(() => [Pbx], { description: 'Its PBXs that are in no network, by name' })
  async standalonePbxs(@Root() customer: Customer, @Ctx() { loaders }: NetworkContext): Promise<Pbx[]> {
    return loaders.scope.filter(await loaders.standalonePbxsOfCustomer.load(customer.id), pbxOwnershipOf);
  }
}
