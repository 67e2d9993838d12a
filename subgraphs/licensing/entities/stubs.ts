import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The network subgraph's WMS network, extended here with its bundle, retention, static IPs and storage. */
@Directive('@key(fields: "id")')
@ObjectType('WmsNetwork')
export class WmsNetworkStub {
  @Field(() => ID) id!: string;
}

/** The network subgraph's PBX, extended here with its (holder's) bundle, retention and static IP. */
@Directive('@key(fields: "id")')
@ObjectType('Pbx')
export class PbxStub {
  @Field(() => ID) id!: string;
}
