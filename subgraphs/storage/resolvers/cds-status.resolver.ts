import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { StorageContext } from '../context';
import { CdsStatus } from '../entities/cds-status';
import { CdsUsage, noUsage } from '../entities/cds-usage';
import { DATA_CATEGORIES } from '../rules';

@Resolver(() => CdsStatus)
export class CdsStatusResolver {
  @FieldResolver(() => [CdsUsage], { description: 'Usage per data category; every category is listed, with zeros when it holds nothing' })
  async usageByCategory(@Root() status: CdsStatus, @Ctx() { loaders }: StorageContext): Promise<CdsUsage[]> {
    const rows = await loaders.usageOfPbx.load(status.pbxId);
    return DATA_CATEGORIES.map((category) => rows.find((r) => r.category === category) ?? noUsage(status.pbxId, category));
  }
}
