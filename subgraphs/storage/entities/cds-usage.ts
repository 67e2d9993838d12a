import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BytesColumn } from '../../../kernel/columns';
import { DataCategory } from '../../../kernel/domain/enums';

/** What a PBX keeps in CDS per data category. */
@ObjectType('CategoryUsage', { description: 'CDS usage of one data category' })
@Entity('cds_usage')
export class CdsUsage {
  @PrimaryColumn({ type: 'varchar', length: 64 }) pbxId!: string;
  @Field(() => DataCategory) @PrimaryColumn({ type: 'varchar', length: 24 }) category!: DataCategory;
  @Field(() => GraphQLSafeInt) @BytesColumn() usedBytes!: number;
  @Field(() => Int) @Column({ type: 'int', default: 0 }) itemCount!: number;
}

export const noUsage = (pbxId: string, category: DataCategory): CdsUsage =>
  Object.assign(new CdsUsage(), { pbxId, category, usedBytes: 0, itemCount: 0 });
