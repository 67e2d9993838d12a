import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';
import { PbxKind } from '../../../kernel/domain/enums';
import { PbxSnapshot } from '../../../kernel/events/catalog';

/** A PBX, identified by its serial. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A PBX, identified by its serial (e.g. 22110001d072)' })
@Entity('pbx')
@Index('IX_pbx_network', ['networkId'])
@Index('IX_pbx_customer_network', ['customerId', 'networkId'])
export class Pbx {
  @Field(() => ID, { description: 'The serial' }) @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Field({ description: 'DNS name, e.g. acme.wildixin.com' }) @Column({ type: 'varchar', length: 253 }) name!: string;
  @Field(() => PbxKind) @Column({ type: 'varchar', length: 16 }) kind!: PbxKind;
  @Field({ description: 'The WMS version it last reported, e.g. 6.05.20231120.1' })
  @Column({ type: 'varchar', length: 64 })
  wmsVersion!: string;
  @Field({ description: 'The AWS region it runs in (cloud) or is configured for (virtual, hardware)' })
  @Column({ type: 'varchar', length: 32 })
  region!: string;
  @Column({ type: 'varchar', length: 64 }) customerId!: string;
  @Column({ type: 'varchar', length: 64, nullable: true }) networkId!: string | null;
  /**
   * Grows with every change; travels in events so replicas keep the newest,
   * and (hidden from clients) to subgraphs whose fields `@requires` it, so they
   * answer from a replica at least this fresh.
   */
  @Directive('@inaccessible')
  @Field(() => Int, { description: 'Internal: the change counter replicas catch up to' })
  @Column({ type: 'int', default: 1 })
  revision!: number;
  @Field() @InstantColumn() createdAt!: Date;
  @InstantColumn() updatedAt!: Date;
}

export const snapshotOf = (pbx: Pbx): PbxSnapshot => ({
  id: pbx.id,
  name: pbx.name,
  kind: pbx.kind,
  wmsVersion: pbx.wmsVersion,
  region: pbx.region,
  customerId: pbx.customerId,
  networkId: pbx.networkId,
  revision: pbx.revision,
});
