import { Column, Entity, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';
import { HolderType } from '../holders';

/**
 * Whether a holder's usage alert (rule 10) is raised: it is raised once when
 * usage reaches the threshold and may be raised again only after `raised` went
 * back to false (usage fell below). Written by the usage-alert work; the table
 * exists now so that work only adds behaviour.
 */
@Entity('usage_alert')
export class UsageAlert {
  @PrimaryColumn({ type: 'varchar', length: 16 }) holderType!: HolderType;
  @PrimaryColumn({ type: 'varchar', length: 64 }) holderId!: string;
  @Column({ type: 'boolean', default: false }) raised!: boolean;
  @InstantColumn({ nullable: true }) raisedAt!: Date | null;
  @InstantColumn({ nullable: true }) clearedAt!: Date | null;
}
