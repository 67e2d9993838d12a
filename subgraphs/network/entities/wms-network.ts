import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';

/** A server PBX plus client PBXs of one customer; licences and bundles are per network. */
@Directive('@key(fields: "id")')
@ObjectType('WmsNetwork', { description: 'A WMS network: PBXs of one customer sharing licences and a bundle' })
@Entity('wms_network')
@Index('IX_wms_network_customer', ['customerId'])
@Index('IX_wms_network_name', ['name', 'id'])
export class WmsNetwork {
  @Field(() => ID) @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Field() @Column({ type: 'varchar', length: 200 }) name!: string;
  @Column({ type: 'varchar', length: 64 }) customerId!: string;
  @Field() @InstantColumn() createdAt!: Date;
}
