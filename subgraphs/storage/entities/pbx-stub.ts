import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';

/** The network subgraph's PBX, as far as storage needs it: its key, to hang CDS fields on. */
@Directive('@key(fields: "id")')
@ObjectType('Pbx')
export class PbxStub {
  @Field(() => ID, { description: 'The serial' }) id!: string;

  /** The network subgraph's change counter, sent with references so answers come from a replica at least that fresh. */
  @Directive('@external')
  @Field(() => Int)
  revision?: number | null;
}

export const pbxStub = (id: string): PbxStub => Object.assign(new PbxStub(), { id });
