import { GraphQLSafeInt } from 'graphql-scalars';
import { Arg, Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { CdsState, DataCategory, MigrationStatus } from '../../../kernel/domain/enums';
import { normalizeRegion } from '../../../kernel/domain/rules';
import { requireRole } from '../../../kernel/identity';
import { StorageContext } from '../context';
import { cdsOverview } from '../overview';

@ObjectType({ description: 'How many PBXs are in one CDS state' })
class CdsStateCount {
  @Field(() => CdsState) state!: CdsState;
  @Field(() => Int) pbxCount!: number;
}

@ObjectType({ description: 'What all PBXs together keep in CDS in one data category' })
class CdsCategoryTotal {
  @Field(() => DataCategory) category!: DataCategory;
  @Field(() => GraphQLSafeInt) usedBytes!: number;
  @Field(() => GraphQLSafeInt) itemCount!: number;
}

@ObjectType({ description: 'How many migrations are in one status' })
class MigrationStatusCount {
  @Field(() => MigrationStatus) status!: MigrationStatus;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: 'Fleet-wide CDS figures, or those of one region; every state, category and status listed, zeros included' })
class CdsOverview {
  @Field(() => String, { nullable: true, description: 'The region they are for; null for the whole fleet' }) region!: string | null;
  @Field(() => Int, { description: 'Registered PBXs' }) pbxCount!: number;
  @Field(() => GraphQLSafeInt, { description: 'Bytes in CDS, all PBXs and categories together (the sum of their cds.usedBytes)' })
  usedBytes!: number;
  @Field(() => [CdsStateCount], { description: 'PBXs per CDS state; a PBX never activated counts as NOT_ACTIVATED' })
  byState!: CdsStateCount[];
  @Field(() => [CdsCategoryTotal], { description: 'Bytes and items in CDS per data category' }) byCategory!: CdsCategoryTotal[];
  @Field(() => [MigrationStatusCount], { description: 'Migrations (every run, past ones included) per status' })
  migrationsByStatus!: MigrationStatusCount[];
}

@Resolver()
export class OverviewResolver {
  @Query(() => CdsOverview, {
    description:
      "Admins and analysts: CDS across all PBXs, or those whose region (the PBX's configured region) is `region`; " +
      'counted by the database in one statement, consistent with what PbxDetails shows per PBX',
  })
  cdsOverview(
    @Ctx() { loaders, services }: StorageContext,
    @Arg('region', () => String, { nullable: true }) region?: string | null,
  ): Promise<CdsOverview> {
    requireRole(loaders.scope.identity, ['admin', 'analyst'], 'see the fleet-wide CDS overview');
    return cdsOverview(services.runtime.db, region === null || region === undefined ? null : normalizeRegion(region));
  }
}
