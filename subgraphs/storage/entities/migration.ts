import { GraphQLSafeInt } from 'graphql-scalars';
import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { BytesColumn, InstantColumn } from '../../../kernel/columns';
import { MigrationStatus, MigrationTrigger } from '../../../kernel/domain/enums';

/** One run that moves a PBX's files from local storage into CDS. */
@Directive('@key(fields: "id")')
@ObjectType('Migration', { description: "One run that moves a PBX's files from local storage into CDS" })
@Entity('migration')
@Index('IX_migration_pbx_created', ['pbxId', 'createdAt'])
export class Migration {
  @Field(() => ID) @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  @Column({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field(() => MigrationStatus) @Column({ type: 'varchar', length: 16 }) status!: MigrationStatus;
  @Field(() => MigrationTrigger) @Column({ type: 'varchar', length: 16 }) trigger!: MigrationTrigger;
  @Field({ description: 'The AWS region of the CDS it moves into' }) @Column({ type: 'varchar', length: 32 }) region!: string;
  @Field(() => String, { nullable: true, description: 'Why it failed, in words' }) @Column({ type: 'text', nullable: true }) error!:
    string | null;
  /** Totals over the categories that move (rule 4), kept with the run so lists need no sums. */
  @Field(() => Int) @Column({ type: 'int', default: 0 }) itemsTotal!: number;
  @Field(() => Int) @Column({ type: 'int', default: 0 }) itemsDone!: number;
  @Field(() => GraphQLSafeInt) @BytesColumn() bytesTotal!: number;
  @Field(() => GraphQLSafeInt) @BytesColumn() bytesDone!: number;
  @Field({ description: 'When it was started (queued)' }) @InstantColumn() startedAt!: Date;
  @Field(() => Date, { nullable: true }) @InstantColumn({ nullable: true }) finishedAt!: Date | null;
  @InstantColumn() createdAt!: Date;
  /** The agent run that holds this migration (rule: one agent per PBX at a time); never shown to clients. */
  @Column({ type: 'varchar', length: 36, nullable: true }) runToken!: string | null;
  /** Until when that run holds it; a run that stops reporting loses it after this. */
  @InstantColumn({ nullable: true }) leaseExpiresAt!: Date | null;
  /** Entries of the source tree the agent left alone (symbolic links, devices), as JSON [{sourcePath, reason}], the first 200. */
  @Column({ type: 'text', nullable: true }) skippedJson!: string | null;
  @Field(() => Int, {
    description: 'How many entries of the source tree the agent skipped (symbolic links, special files): they were not migrated',
  })
  @Column({ type: 'int', default: 0 })
  skippedCount!: number;
}
