import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The network subgraph's PBX, as far as this subgraph extends it (with `recordings`). */
@Directive('@key(fields: "id")')
@ObjectType('Pbx')
export class PbxStub {
  @Field(() => ID, { description: 'The serial' }) id!: string;
}
