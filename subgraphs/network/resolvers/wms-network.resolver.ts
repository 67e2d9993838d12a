import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Query, Resolver, Root } from 'type-graphql';
import { Brackets } from 'typeorm';
import { Connection, ConnectionShape, decodeCursor, pageSize, toConnection } from '../../../kernel/graphql/connection';
import { notFound } from '../../../kernel/errors';
import { likeContains } from '../../../kernel/sql-like';
import { NetworkContext } from '../context';
import { Customer } from '../entities/customer';
import { Pbx } from '../entities/pbx';
import { WmsNetwork } from '../entities/wms-network';
import { networkOwnershipOf, pbxOwnershipOf } from '../loaders';

@InputType()
export class NetworkFilter {
  @Field(() => ID, { nullable: true }) customerId?: string | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive part of the name' }) nameContains?: string | null;
}

const WmsNetworkConnection = Connection('WmsNetwork', WmsNetwork);

@Resolver(() => WmsNetwork)
export class WmsNetworkResolver {
  @Query(() => WmsNetwork, { nullable: true, description: 'A WMS network; NOT_FOUND when there is none with this id' })
  async network(@Arg('id', () => ID) id: string, @Ctx() { loaders }: NetworkContext): Promise<WmsNetwork> {
    const network = await loaders.network.load(id);
    if (!network) throw notFound('Network', id);
    await loaders.scope.assertSees(networkOwnershipOf(network), 'Network', id);
    return network;
  }

  @Query(() => WmsNetworkConnection, { description: 'The networks the caller may see, by name; `first` at most 500' })
  async networks(
    @Ctx() { loaders, services }: NetworkContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => NetworkFilter, { nullable: true }) filter?: NetworkFilter,
  ): Promise<ConnectionShape<WmsNetwork>> {
    const limit = pageSize(first);
    const scope = await loaders.scope.listFilter();
    const query = services.runtime.db.getRepository(WmsNetwork).createQueryBuilder('n');
    if (scope && 'customers' in scope)
      query.andWhere(scope.customers.length ? 'n.customerId IN (:...scoped)' : '1 = 0', { scoped: scope.customers });
    if (scope && 'pbxId' in scope) query.andWhere('n.id = :own', { own: scope.networkId ?? '' });
    if (filter?.customerId) query.andWhere('n.customerId = :customerId', { customerId: filter.customerId });
    if (filter?.nameContains) {
      query.andWhere(...likeContains('n.name', 'pattern', filter.nameContains));
    }
    const totalCount = await query.getCount();
    if (after) {
      const [name, id] = decodeCursor(after, 2);
      query.andWhere(new Brackets((q) => q.where('n.name > :name', { name }).orWhere('n.name = :name AND n.id > :id', { name, id })));
    }
    const rows = await query
      .orderBy('n.name', 'ASC')
      .addOrderBy('n.id', 'ASC')
      .take(limit + 1)
      .getMany();
    return toConnection(rows, limit, totalCount, (n) => [n.name, n.id]);
  }

  @FieldResolver(() => Customer)
  async customer(@Root() network: WmsNetwork, @Ctx() { loaders }: NetworkContext): Promise<Customer> {
    const customer = await loaders.customer.load(network.customerId);
    if (!customer) throw notFound('Customer', network.customerId);
    return customer;
  }

  @FieldResolver(() => Int, { description: 'How many PBXs the network has' })
  async pbxCount(@Root() network: WmsNetwork, @Ctx() { loaders }: NetworkContext): Promise<number> {
    // The rows `pbxs` loads (one statement for every network of the request): no COUNT beside them.
    return (await loaders.pbxsOfNetwork.load(network.id)).length;
  }

  @FieldResolver(() => [Pbx], { description: 'Its PBXs, by name' })
  async pbxs(@Root() network: WmsNetwork, @Ctx() { loaders }: NetworkContext): Promise<Pbx[]> {
    return loaders.scope.filter(await loaders.pbxsOfNetwork.load(network.id), pbxOwnershipOf);
  }
}
