import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The network subgraph's PBX, as far as storage needs it: its key, to hang CDS fields on. */
@Directive('@key(fields: "id")')
@ObjectType('Pbx')
export class PbxStub {
  @Field(() => ID, { description: 'The serial' }) id!: string;
}

export const pbxStub = (id: string): PbxStub => Object.assign(new PbxStub(), { id });
