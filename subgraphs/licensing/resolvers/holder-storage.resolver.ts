import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { LicensingContext } from '../context';
import { HolderStorage } from '../entities/holder-views';
import { holderKey } from '../holders';

/** Rule 10's alert on a holder's storage, as the last evaluation left it (see usage-alerts.ts). */
@Resolver(() => HolderStorage)
export class HolderStorageResolver {
  @FieldResolver(() => Boolean, {
    description: 'Usage reached 95% of the capacity and has not fallen below since: the alert is raised (once per crossing)',
  })
  async alertActive(@Root() storage: HolderStorage, @Ctx() { loaders }: LicensingContext): Promise<boolean> {
    return (await loaders.usageAlert.load(holderKey(storage.holder)))?.raised ?? false;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When the active alert was raised; null when none is active' })
  async alertRaisedAt(@Root() storage: HolderStorage, @Ctx() { loaders }: LicensingContext): Promise<Date | null> {
    const alert = await loaders.usageAlert.load(holderKey(storage.holder));
    return alert?.raised ? alert.raisedAt : null;
  }
}
