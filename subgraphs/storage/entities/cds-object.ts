import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { BytesColumn, InstantColumn } from '../../../kernel/columns';
import { DataCategory } from '../../../kernel/domain/enums';

/**
 * A file safely in CDS: its copy written and its SHA-256 verified (rule 5).
 * Only rows here count as migrated; a later run skips them (rule 3). Backups
 * are registered here; recordings here and, with their metadata, in the
 * recordings subgraph.
 */
@ObjectType('CdsObject', { description: 'A file safely in CDS: written, and its SHA-256 verified' })
@Entity('cds_object')
@Index('UQ_cds_object_item', ['pbxId', 'category', 'pathHash'], { unique: true })
@Index('IX_cds_object_migration', ['pbxId', 'migrationId', 'category'])
export class CdsObject {
  @Field(() => Int, { description: 'Order of verification; page with afterSeq' })
  @PrimaryGeneratedColumn({ type: 'integer' })
  seq!: number;
  @Column({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field(() => DataCategory) @Column({ type: 'varchar', length: 24 }) category!: DataCategory;
  @Field({ description: "The file's path on the PBX, relative to its storage root" }) @Column({ type: 'text' }) sourcePath!: string;
  /** SHA-256 of sourcePath: paths can be longer than an index may be */
  @Column({ type: 'varchar', length: 64 }) pathHash!: string;
  @Field({ description: 'Where it lives in the CDS store of its region' }) @Column({ type: 'text' }) objectKey!: string;
  @Field(() => GraphQLSafeInt) @BytesColumn() sizeBytes!: number;
  @Field({ description: 'Hex SHA-256 of the content, verified on the stored copy' })
  @Column({ type: 'varchar', length: 64 })
  sha256!: string;
  /** The migration that last confirmed it (verified it, or heard its local file is still there): only those count for it. */
  @Column({ type: 'varchar', length: 36 }) migrationId!: string;
  @Field() @InstantColumn() verifiedAt!: Date;
}
