import { Arg, Ctx, Field, FieldResolver, ID, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { networkOwnership, pbxOwnership } from '../../../kernel/directory';
import { badInput, notFound } from '../../../kernel/errors';
import { LicensingContext } from '../context';
import { HolderStorage } from '../entities/holder-views';
import { PbxStub, WmsNetworkStub } from '../entities/stubs';
import { Holder, holderKey, HolderType } from '../holders';

/** A holder's usage alert (rule 10), as `storageAlerts` delivers it. Its id is `<NETWORK|PBX>:<holder id>`. */
@ObjectType('StorageAlert', {
  description: "A holder's CDS usage alert (rule 10): raised once when usage reaches 95% of capacity, again only after it fell below",
})
export class StorageAlert {
  @Field(() => ID) id!: string;
  @Field({ description: 'NETWORK or PBX (a standalone PBX holds its own bundle)' }) holderType!: string;
  @Field({ description: 'Raised and not cleared since' }) active!: boolean;
  @Field(() => Date, { nullable: true }) raisedAt!: Date | null;
  @Field(() => Date, { nullable: true }) clearedAt!: Date | null;
  holder!: Holder;
}

/** What `storageAlerts` delivers. */
@ObjectType('StorageAlertEvent')
export class StorageAlertEvent {
  @Field(() => StorageAlert) alert!: StorageAlert;
}

export const STORAGE_ALERT_SUBSCRIPTION_SDL = `
extend type Subscription {
  """
  Usage alerts (DOMAIN.md rule 10) as they are raised, served by the gateway over graphql-ws (and SSE at
  /graphql/stream). Exactly one of pbxId (a standalone PBX's own alert), networkId or customerId.
  """
  storageAlerts(pbxId: ID, networkId: ID, customerId: ID): StorageAlertEvent!
}
`;

export function parseAlertId(id: string): Holder {
  const [type, ...rest] = id.split(':');
  const holderId = rest.join(':');
  if ((type !== HolderType.NETWORK && type !== HolderType.PBX) || !holderId)
    throw badInput(`'${id}' is not a storage alert id (NETWORK:<id> or PBX:<serial>)`, 'id');
  return { type: type as HolderType, id: holderId };
}

@Resolver(() => StorageAlert)
export class StorageAlertResolver {
  @Query(() => StorageAlert, {
    nullable: true,
    description: "A holder's usage alert by id (NETWORK:<id> or PBX:<serial>); NOT_FOUND when it was never raised",
  })
  async storageAlert(@Arg('id', () => ID) id: string, @Ctx() { loaders, services }: LicensingContext): Promise<StorageAlert> {
    const holder = parseAlertId(id);
    if (holder.type === HolderType.NETWORK) {
      const network = await services.runtime.directory.requireNetwork(loaders.directory, holder.id);
      await loaders.scope.assertSees(networkOwnership(network), 'Network', holder.id);
    } else {
      const pbx = await services.runtime.directory.requirePbx(loaders.directory, holder.id);
      await loaders.scope.assertSees(pbxOwnership(pbx), 'PBX', holder.id);
    }
    const row = await loaders.usageAlert.load(holderKey(holder));
    if (!row) throw notFound('Storage alert', id);
    return Object.assign(new StorageAlert(), {
      id: holderKey(holder),
      holderType: holder.type,
      active: row.raised,
      raisedAt: row.raisedAt,
      clearedAt: row.clearedAt,
      holder,
    });
  }

  @FieldResolver(() => HolderStorage, { description: "The holder's storage now" })
  storage(@Root() alert: StorageAlert, @Ctx() { loaders }: LicensingContext): Promise<HolderStorage> {
    return loaders.storageOf(alert.holder);
  }

  @FieldResolver(() => WmsNetworkStub, { nullable: true, description: 'The network, when the holder is one' })
  network(@Root() alert: StorageAlert): WmsNetworkStub | null {
    return alert.holder.type === HolderType.NETWORK ? Object.assign(new WmsNetworkStub(), { id: alert.holder.id }) : null;
  }

  @FieldResolver(() => PbxStub, { nullable: true, description: 'The standalone PBX, when the holder is one' })
  pbx(@Root() alert: StorageAlert): PbxStub | null {
    return alert.holder.type === HolderType.PBX ? Object.assign(new PbxStub(), { id: alert.holder.id }) : null;
  }
}
