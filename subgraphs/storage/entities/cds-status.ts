import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BytesColumn, InstantColumn } from '../../../kernel/columns';
import { CdsState } from '../../../kernel/domain/enums';

/** The CDS feature of one PBX (DOMAIN.md rule 3). A PBX without a row has never been activated. */
@ObjectType('CdsStatus', { description: 'Company Data Storage of a PBX' })
@Entity('cds_status')
export class CdsStatus {
  @PrimaryColumn({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field(() => CdsState) @Column({ type: 'varchar', length: 24 }) state!: CdsState;
  @Field(() => String, { nullable: true, description: "The AWS region CDS keeps this PBX's data in; null before activation" })
  @Column({ type: 'varchar', length: 32, nullable: true })
  region!: string | null;
  @Field(() => Date, { nullable: true, description: 'When CDS became ACTIVE' })
  @InstantColumn({ nullable: true })
  activatedAt!: Date | null;
  @Field(() => GraphQLSafeInt, { description: 'Bytes in CDS, all categories together' })
  @BytesColumn()
  usedBytes!: number;
  /** grows with every change; travels in CdsUsageChanged so consumers keep the newest */
  @Column({ type: 'int', default: 0 }) revision!: number;
}

/** What a PBX without a row has: registered PBXs start NOT_ACTIVATED with nothing stored. */
export const notActivated = (pbxId: string): CdsStatus =>
  Object.assign(new CdsStatus(), {
    pbxId,
    state: CdsState.NOT_ACTIVATED,
    region: null,
    activatedAt: null,
    usedBytes: 0,
    revision: 0,
  });
