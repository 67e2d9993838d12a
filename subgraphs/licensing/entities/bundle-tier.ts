import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BytesColumn } from '../../../kernel/columns';

/**
 * One tier of the bundle catalogue (DOMAIN.md rule 7). The catalogue is data:
 * the rows are inserted by a migration and read back per request, so a new
 * tier or a changed size is a new migration, not a code change.
 */
@ObjectType('BundleTier', { description: 'A CDS bundle tier: storage capacity, Cloud Analytics retention and static-IP allowance' })
@Entity('bundle_tier')
export class BundleTier {
  @Field(() => String, { description: 'DEFAULT, CDS-10, CDS-50, CDS-500 or CDS-5000' })
  @PrimaryColumn({ type: 'varchar', length: 32 })
  code!: string;

  /** sort order of the catalogue: DEFAULT first, then smallest to largest */
  @Column({ type: 'int' }) rank!: number;

  @Field(() => GraphQLSafeInt, { description: 'Storage capacity in bytes (1 GB = 10^9 bytes)' })
  @BytesColumn()
  storageBytes!: number;

  @Field(() => Int, { description: 'How many months Cloud Analytics data is kept' })
  @Column({ type: 'int' })
  analyticsRetentionMonths!: number;

  @Field(() => Int, {
    nullable: true,
    description: 'How many PBXs of the holder may have a static IP; null means every PBX of the network',
  })
  @Column({ type: 'int', nullable: true })
  staticIpAllowance!: number | null;

  @Field({ description: 'Only standalone PBXs may hold this tier' })
  @Column({ type: 'boolean' })
  standaloneOnly!: boolean;

  @Field(() => Int, { nullable: true, description: 'The most PBXs a network holding this tier may have; null for no limit' })
  @Column({ type: 'int', nullable: true })
  maxNetworkPbxs!: number | null;
}
