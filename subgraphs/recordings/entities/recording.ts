import { GraphQLSafeInt } from 'graphql-scalars';
import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { BytesColumn, InstantColumn } from '../../../kernel/columns';
import { RecordingLocation } from '../../../kernel/domain/enums';

/**
 * A call recording of one PBX: its metadata and where its file lives
 * (DOMAIN.md rule 5). `caller`, `callee` and `location` are stored as they are
 * but read through RecordingResolver, which applies the personal-data rule and
 * derives the location at read time (rules.ts).
 */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A call recording: metadata plus a file, on the PBX or in CDS' })
@Entity('recording')
// Newest-first keyset paging per PBX reads this index and nothing else.
@Index('IX_recording_pbx_started', ['pbxId', 'startedAt', 'id'])
// Registering the same file of a PBX twice finds the first row (RecordingService.registerRecordings);
// by the path's SHA-256, as a path may be longer than an index key.
@Index('UQ_recording_pbx_source_hash', ['pbxId', 'sourcePathHash'], { unique: true })
export class Recording {
  @Field(() => ID) @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  /** the PBX serial */
  @Column({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field({ description: "The PBX's id of the call; empty when the PBX recorded none" })
  @Column({ type: 'varchar', length: 255 })
  callId!: string;
  @Field({ description: 'When the call started (UTC, milliseconds)' }) @InstantColumn() startedAt!: Date;
  @Field(() => Int) @Column({ type: 'int' }) durationSeconds!: number;
  @Field(() => GraphQLSafeInt, { description: 'Size of the file in bytes' }) @BytesColumn() sizeBytes!: number;
  @Field(() => String, { nullable: true, description: 'Personal data: FORBIDDEN to analysts' })
  @Column({ type: 'varchar', length: 255, nullable: true })
  caller!: string | null;
  @Field(() => String, { nullable: true, description: 'Personal data: FORBIDDEN to analysts' })
  @Column({ type: 'varchar', length: 255, nullable: true })
  callee!: string | null;
  @Field(() => RecordingLocation, { description: 'Where the file is now; a local copy past its expiry reads as CDS' })
  @Column({ type: 'varchar', length: 24 })
  location!: RecordingLocation;
  @Field(() => Date, { nullable: true, description: 'Until when the PBX keeps its local copy after migration (migration + 7 days)' })
  @InstantColumn({ nullable: true })
  localCopyExpiresAt!: Date | null;
  /** hex SHA-256 of the file, set once the CDS copy is verified; varchar because SQLite has no char type in TypeORM */
  @Field(() => String, { nullable: true, description: 'Hex SHA-256 of the file, known once its CDS copy is verified' })
  @Column({ type: 'varchar', length: 64, nullable: true })
  sha256!: string | null;
  /** where the file lives in CDS; null while it is only local */
  @Field(() => String, { nullable: true, description: 'Where its file lives in the CDS store of its region; null while only local' })
  @Column({ type: 'varchar', length: 1024, nullable: true })
  objectKey!: string | null;
  /** the file's path on the PBX, relative to its storage root (e.g. recordings/2024/05/14/x.wav) */
  @Field(() => String, { nullable: true, description: "Its file's path on the PBX, relative to the PBX's storage root" })
  @Column({ type: 'text', nullable: true })
  sourcePath!: string | null;
  /** hex SHA-256 of sourcePath (kernel/objectstore sourcePathHash): what identifies the file; set by insertRecordingRows */
  @Column({ type: 'varchar', length: 64, nullable: true }) sourcePathHash!: string | null;
  /** the migration (storage subgraph) that moved it into CDS */
  @Column({ type: 'varchar', length: 64, nullable: true }) migrationId!: string | null;
  @InstantColumn() createdAt!: Date;
}
