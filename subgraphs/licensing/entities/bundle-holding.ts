import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';
import { BundleSource } from '../../../kernel/domain/enums';
import { HolderType } from '../holders';

/**
 * The bundle a holder (a WMS network, or a standalone PBX) holds, one row per
 * holder. A holder without a row holds DEFAULT (see holders.ts), so the rows
 * are exactly the bundles that were ordered or given by the legacy transition.
 */
@Entity('bundle_holding')
@Index('IX_bundle_holding_tier', ['tierCode'])
export class BundleHolding {
  @PrimaryColumn({ type: 'varchar', length: 16 }) holderType!: HolderType;
  /** a network id, or a PBX serial for a standalone PBX */
  @PrimaryColumn({ type: 'varchar', length: 64 }) holderId!: string;
  @Column({ type: 'varchar', length: 32 }) tierCode!: string;
  @Column({ type: 'varchar', length: 32 }) source!: BundleSource;
  @InstantColumn() effectiveFrom!: Date;
  @InstantColumn() updatedAt!: Date;
}
