import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BytesColumn } from '../../../kernel/columns';
import { CategoryState, DataCategory } from '../../../kernel/domain/enums';

/** A migration's progress in one data category. */
@ObjectType('MigrationCategory', { description: "A migration's progress in one data category" })
@Entity('migration_category')
export class MigrationCategory {
  @PrimaryColumn({ type: 'varchar', length: 36 }) migrationId!: string;
  @Field(() => DataCategory) @PrimaryColumn({ type: 'varchar', length: 24 }) category!: DataCategory;
  @Field(() => CategoryState) @Column({ type: 'varchar', length: 24 }) state!: CategoryState;
  @Field(() => Int) @Column({ type: 'int', default: 0 }) itemsTotal!: number;
  @Field(() => Int) @Column({ type: 'int', default: 0 }) itemsDone!: number;
  @Field(() => GraphQLSafeInt) @BytesColumn() bytesTotal!: number;
  @Field(() => GraphQLSafeInt) @BytesColumn() bytesDone!: number;
}
