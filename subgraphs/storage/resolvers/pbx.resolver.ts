import { Ctx, Directive, FieldResolver, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { StorageContext } from '../context';
import { CdsStatus, notActivated } from '../entities/cds-status';
import { Migration } from '../entities/migration';
import { PbxStub } from '../entities/pbx-stub';

/** Storage's fields of a PBX. The PBX reached here through a scoped reference or migration. */
@Resolver(() => PbxStub)
export class PbxStorageResolver {
  @Directive('@requires(fields: "revision")')
  @FieldResolver(() => CdsStatus, {
    nullable: PARTIAL,
    description: 'Its Company Data Storage; NOT_ACTIVATED until activated' + unlessDown('storage'),
  })
  async cds(@Root() pbx: PbxStub, @Ctx() { loaders }: StorageContext): Promise<CdsStatus> {
    return (await loaders.cdsStatus.load(pbx.id)) ?? notActivated(pbx.id);
  }

  /**
   * Decision: "current" means under way: the newest QUEUED or RUNNING
   * migration, else null. A failed run is not current (the PBX's cds.state
   * says MIGRATION_FAILED and `migrations` keeps the run with its error), so
   * a client seeing a current migration can rely on it still progressing.
   */
  @Directive('@requires(fields: "revision")')
  @FieldResolver(() => Migration, {
    nullable: true,
    description: 'The newest migration still QUEUED or RUNNING; null when none is under way',
  })
  currentMigration(@Root() pbx: PbxStub, @Ctx() { loaders }: StorageContext): Promise<Migration | null> {
    return loaders.currentMigration.load(pbx.id);
  }

  @Directive('@requires(fields: "revision")')
  @FieldResolver(() => [Migration], { nullable: PARTIAL, description: 'Every migration of this PBX, newest first' + unlessDown('storage') })
  migrations(@Root() pbx: PbxStub, @Ctx() { loaders }: StorageContext): Promise<Migration[]> {
    return loaders.migrationsOfPbx.load(pbx.id);
  }
}
