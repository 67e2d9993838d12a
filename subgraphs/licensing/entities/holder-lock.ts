import { Entity, PrimaryColumn } from 'typeorm';
import { HolderType } from '../holders';

/**
 * One row per holder that ever had a licensing command: the row commands lock
 * (SELECT ... FOR UPDATE) so that changes to one holder's static IPs and
 * bundle happen one at a time, whichever instance runs them. A separate table,
 * not bundle_holding, because a holder without a holding row holds DEFAULT.
 */
@Entity('holder_lock')
export class HolderLock {
  @PrimaryColumn({ type: 'varchar', length: 16 }) holderType!: HolderType;
  @PrimaryColumn({ type: 'varchar', length: 64 }) holderId!: string;
}
