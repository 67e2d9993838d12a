import { Arg, Ctx, FieldResolver, Float, ID, Query, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { notFound } from '../../../kernel/errors';
import { StorageContext } from '../context';
import { Migration } from '../entities/migration';
import { MigrationCategory } from '../entities/migration-category';
import { PbxStub, pbxStub } from '../entities/pbx-stub';
import { migrationPercent } from '../rules';

@Resolver(() => Migration)
export class MigrationResolver {
  @Query(() => Migration, { nullable: true, description: 'A migration; NOT_FOUND when there is none with this id' })
  async migration(@Arg('id', () => ID) id: string, @Ctx() { loaders }: StorageContext): Promise<Migration> {
    const migration = await loaders.migration.load(id);
    // A migration of a PBX the directory does not know is as good as missing.
    if (!migration || !(await loaders.visiblePbx(migration.pbxId, { kind: 'Migration', id }))) throw notFound('Migration', id);
    return migration;
  }

  @FieldResolver(() => Float, { description: '0 to 100, by bytes (by items when sizes are unknown); 100 once COMPLETED' })
  percent(@Root() migration: Migration): number {
    return migrationPercent(migration);
  }

  @FieldResolver(() => [MigrationCategory], { description: 'Progress per data category' })
  categories(@Root() migration: Migration, @Ctx() { loaders }: StorageContext): Promise<MigrationCategory[]> {
    return loaders.categoriesOfMigration.load(migration.id);
  }

  @FieldResolver(() => PbxStub, { nullable: PARTIAL, description: 'The PBX it migrates' + unlessDown('network') })
  pbx(@Root() migration: Migration): PbxStub {
    return pbxStub(migration.pbxId);
  }
}
