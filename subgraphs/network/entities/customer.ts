import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { InstantColumn } from '../../../kernel/columns';

/** A company that owns WMS networks and standalone PBXs. */
@Directive('@key(fields: "id")')
@ObjectType({ description: 'A company; owns WMS networks and standalone PBXs' })
@Entity('customer')
export class Customer {
  @Field(() => ID) @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Field() @Column({ type: 'varchar', length: 200 }) name!: string;
  @Field() @InstantColumn() createdAt!: Date;
}
