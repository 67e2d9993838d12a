import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BytesColumn } from '../../../kernel/columns';

/**
 * Replica of the CDS bytes each PBX uses, fed by storage's CdsUsageChanged
 * events; licensing sums it per holder against the bundle's capacity.
 */
@Entity('pbx_usage')
export class PbxUsage {
  @PrimaryColumn({ type: 'varchar', length: 64 }) pbxId!: string;
  @BytesColumn() usedBytes!: number;
  /** the storage subgraph's revision of this figure; older ones arriving late are ignored */
  @Column({ type: 'int' }) revision!: number;
}
