import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { badInput } from '../../../kernel/errors';
import { CdsObject } from '../entities/cds-object';
import { GraphQLSafeInt } from 'graphql-scalars';
import { DataCategory } from '../../../kernel/domain/enums';
import { StorageContext } from '../context';
import { Migration } from '../entities/migration';

@ObjectType()
class ActivateCompanyDataStoragePayload {
  @Field(() => Migration) migration!: Migration;
}

@InputType({ description: 'What an agent found locally in one category before copying' })
class CategoryInventoryInput {
  @Field(() => DataCategory) category!: DataCategory;
  @Field(() => Int) itemsTotal!: number;
  @Field(() => GraphQLSafeInt) bytesTotal!: number;
}

@InputType({ description: 'A file whose CDS copy is written and whose SHA-256 was verified on the stored copy' })
class VerifiedItemInput {
  @Field(() => DataCategory) category!: DataCategory;
  @Field({ description: "Path relative to the PBX's storage root" }) sourcePath!: string;
  @Field() objectKey!: string;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field() sha256!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "The receipt CDS's upload endpoint answered when it stored the object: CDS then verifies it by the checksum it computed, without reading it back",
  })
  receipt?: string | null;
}

@InputType({ description: 'An entry of the source tree the agent did not migrate (a symbolic link, a special file)' })
class SkippedEntryInput {
  @Field() sourcePath!: string;
  @Field() reason!: string;
}

@ObjectType({ description: 'A migration taken by one agent run' })
class MigrationRun {
  @Field(() => Migration) migration!: Migration;
  @Field({ description: 'Present it with every report; a restarted agent presents it again to resume' }) runToken!: string;
}

/** The lifecycle commands: activation (rule 2) and what the CDS agent reports while it migrates. */
@Resolver()
export class LifecycleResolver {
  @Query(() => [CdsObject], { description: "A PBX's files verified in CDS, oldest first, paged by seq: what an agent resumes from" })
  cdsObjects(
    @Arg('pbxId', () => ID) pbxId: string,
    @Ctx() { loaders, services }: StorageContext,
    @Arg('category', () => DataCategory, { nullable: true }) category?: DataCategory,
    @Arg('afterSeq', () => Int, { nullable: true, description: 'The seq of the last object of the previous page' }) afterSeq?: number,
    @Arg('first', () => Int, { nullable: true, description: 'At most 5000; default 1000' }) first?: number,
  ): Promise<CdsObject[]> {
    const limit = first ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw badInput(`'first' must be between 1 and 5000 (got ${limit})`, 'first');
    return services.lifecycle.verifiedObjects(loaders, pbxId, category, afterSeq ?? 0, limit);
  }

  @Mutation(() => ActivateCompanyDataStoragePayload, {
    description:
      'Activates CDS for a VIRTUAL or HARDWARE PBX on WMS 6.05 or later, or again after a failed migration: starts a migration (ADMIN_SCRIPT)',
  })
  async activateCompanyDataStorage(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('region', () => String, { nullable: true, description: "The CDS region; defaults to the PBX's configured region" })
    region: string | null,
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return { migration: await services.lifecycle.activate(loaders, pbxId, region) };
  }

  @Mutation(() => MigrationRun, {
    description: 'An agent takes a QUEUED or RUNNING migration and says what it found; CONFLICT while another agent holds it',
  })
  async beginMigrationRun(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('inventory', () => [CategoryInventoryInput]) inventory: CategoryInventoryInput[],
    @Arg('resumeToken', () => String, { nullable: true }) resumeToken: string | null,
    @Ctx() { services, loaders }: StorageContext,
    @Arg('skipped', () => [SkippedEntryInput], { nullable: true, description: 'Entries of the source tree left alone, by name' })
    skipped?: SkippedEntryInput[] | null,
  ) {
    return services.lifecycle.beginRun(loaders, migrationId, inventory, resumeToken, skipped ?? []);
  }

  @Mutation(() => Migration, {
    description:
      'Reports uploaded files (at most 1000 a call); CDS verifies each stored object (key, size, SHA-256) before it counts, once; otherwise nothing of the report counts',
  })
  reportMigrationProgress(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('runToken') runToken: string,
    @Arg('items', () => [VerifiedItemInput]) items: VerifiedItemInput[],
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.reportProgress(loaders, migrationId, runToken, items);
  }

  @Mutation(() => Migration, { description: 'Completes a migration whose every item is verified: CDS becomes ACTIVE' })
  completeMigration(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('runToken') runToken: string,
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.complete(loaders, migrationId, runToken);
  }

  @Mutation(() => Migration, { description: 'Fails a migration, saying why; local data stays and CDS can be activated again' })
  failMigration(
    @Arg('migrationId', () => ID) migrationId: string,
    @Arg('error') error: string,
    @Arg('runToken', () => String, { nullable: true, description: 'Required unless an admin fails it' }) runToken: string | null,
    @Ctx() { services, loaders }: StorageContext,
  ) {
    return services.lifecycle.fail(loaders, migrationId, runToken, error);
  }
}
