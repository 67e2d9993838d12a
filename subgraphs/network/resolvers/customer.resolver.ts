import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { Brackets } from 'typeorm';
import { Connection, ConnectionShape, decodeCursor, pageSize, toConnection } from '../../../kernel/graphql/connection';
import { notFound } from '../../../kernel/errors';
import { likeContains } from '../../../kernel/sql-like';
import { NetworkContext } from '../context';
import { Customer } from '../entities/customer';
import { Pbx } from '../entities/pbx';
import { WmsNetwork } from '../entities/wms-network';
import { customerOwnershipOf, networkOwnershipOf, pbxOwnershipOf } from '../loaders';

const CustomerConnection = Connection('Customer', Customer);

@Resolver(() => Customer)
export class CustomerResolver {
  @Query(() => CustomerConnection, { description: 'The customers the caller may see (a partner: its own), by name; `first` at most 500' })
  async customers(
    @Ctx() { loaders, services }: NetworkContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('nameContains', () => String, { nullable: true, description: 'Case-insensitive part of the name' }) nameContains?: string,
  ): Promise<ConnectionShape<Customer>> {
    const limit = pageSize(first);
    const scope = await loaders.scope.listFilter();
    const query = services.runtime.db.getRepository(Customer).createQueryBuilder('c');
    if (scope && 'customers' in scope)
      query.andWhere(scope.customers.length ? 'c.id IN (:...scoped)' : '1 = 0', { scoped: scope.customers });
    if (scope && 'pbxId' in scope) query.andWhere('c.id = :own', { own: scope.customerId ?? '' });
    if (nameContains) {
      query.andWhere(...likeContains('c.name', 'pattern', nameContains));
    }
    const totalCount = await query.getCount();
    if (after) {
      const [name, id] = decodeCursor(after, 2);
      query.andWhere(new Brackets((q) => q.where('c.name > :name', { name }).orWhere('c.name = :name AND c.id > :id', { name, id })));
    }
    const rows = await query
      .orderBy('c.name', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .take(limit + 1)
      .getMany();
    return toConnection(rows, limit, totalCount, (c) => [c.name, c.id]);
  }

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
