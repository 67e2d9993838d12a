import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../../../kernel/errors';
import { NetworkContext } from '../context';
import { Customer } from '../entities/customer';
import { Pbx } from '../entities/pbx';
import { WmsNetwork } from '../entities/wms-network';
import { pbxOwnershipOf } from '../loaders';

@Resolver(() => Pbx)
export class PbxResolver {
  @Query(() => Pbx, { nullable: true, description: 'A PBX by serial; NOT_FOUND when none is registered' })
  async pbx(@Arg('id', () => ID) id: string, @Ctx() { loaders }: NetworkContext): Promise<Pbx> {
    const pbx = await loaders.pbx.load(id.trim().toLowerCase());
    if (!pbx) throw notFound('PBX', id);
    await loaders.scope.assertSees(pbxOwnershipOf(pbx), 'PBX', id);
    return pbx;
  }

  @FieldResolver(() => WmsNetwork, { nullable: true, description: 'Its WMS network; null for a standalone PBX' })
  network(@Root() pbx: Pbx, @Ctx() { loaders }: NetworkContext): Promise<WmsNetwork | null> | null {
    return pbx.networkId ? loaders.network.load(pbx.networkId) : null;
  }

  @FieldResolver(() => Customer)
  async customer(@Root() pbx: Pbx, @Ctx() { loaders }: NetworkContext): Promise<Customer> {
    const customer = await loaders.customer.load(pbx.customerId);
    if (!customer) throw notFound('Customer', pbx.customerId);
    return customer;
  }
}
