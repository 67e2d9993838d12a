import { Arg, Ctx, Field, FieldResolver, Float, ID, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { localCopyExpiry } from '../../../kernel/domain/what-moves';
import { MigrationStatus } from '../../../kernel/domain/enums';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { notFound } from '../../../kernel/errors';
import { StorageContext } from '../context';
import { Migration } from '../entities/migration';
import { MigrationCategory } from '../entities/migration-category';
import { PbxStub, pbxStub } from '../entities/pbx-stub';
import { migrationPercent } from '../rules';

@ObjectType({ description: 'An entry of the source tree the agent left alone' })
class SkippedEntry {
  @Field() sourcePath!: string;
  @Field() reason!: string;
}

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

  @FieldResolver(() => [SkippedEntry], {
    description:
      'Entries of the source tree the agent left alone (symbolic links, special files), the first 200 by name; skippedCount counts them all',
  })
  skipped(@Root() migration: Migration): SkippedEntry[] {
    return migration.skippedJson ? (JSON.parse(migration.skippedJson) as SkippedEntry[]) : [];
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description: 'Until when recordings keep their local copy on the PBX (rule 5: completion + 7 days); null until COMPLETED',
  })
  localCopyExpiresAt(@Root() migration: Migration): Date | null {
    return migration.status === MigrationStatus.COMPLETED && migration.finishedAt ? localCopyExpiry(migration.finishedAt) : null;
  }

  @FieldResolver(() => PbxStub, { nullable: PARTIAL, description: 'The PBX it migrates' + unlessDown('network') })
  pbx(@Root() migration: Migration): PbxStub {
    return pbxStub(migration.pbxId);
  }
}
