import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * How many recordings of a PBX started on one UTC day. Kept beside the
 * recordings by the one function that inserts them (insertRecordingRows), so
 * `totalCount` sums a few hundred of these rows instead of counting a
 * million index entries (see RecordingQueries.countStatement).
 */
@Entity('recording_day_count')
export class RecordingDayCount {
  @PrimaryColumn({ type: 'varchar', length: 64 }) pbxId!: string;
  /** the UTC day, YYYY-MM-DD (sorts as it reads) */
  @PrimaryColumn({ type: 'varchar', length: 10 }) day!: string;
  @Column({ type: 'int', default: 0 }) recordings!: number;
}
