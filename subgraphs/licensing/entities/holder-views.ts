import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { BundleSource } from '../../../kernel/domain/enums';
import { BundleTier } from './bundle-tier';

/**
 * What a holder's bundle means for it, computed by holders.ts from its
 * holding, the catalogue and the directory; not stored.
 */
@ObjectType('Bundle', { description: 'The bundle a network or standalone PBX holds (DEFAULT when it holds none)' })
export class Bundle {
  @Field(() => BundleTier) tier!: BundleTier;
  @Field(() => BundleSource) source!: BundleSource;
  @Field(() => Date, { nullable: true, description: 'Since when it is held; null for DEFAULT held since the holder exists' })
  effectiveFrom!: Date | null;
  @Field({ description: 'The network has more PBXs than its tier allows and should move to a larger one' })
  needsUpgrade!: boolean;
}

@ObjectType('StaticIpUsage', { description: "How much of a holder's static-IP allowance is used" })
export class StaticIpUsage {
  @Field(() => Int, { description: 'How many PBXs may hold a static IP' }) allowance!: number;
  @Field(() => Int, { description: 'How many PBXs hold one' }) assigned!: number;
  @Field(() => Int, { description: 'How many more may be assigned (never below 0)' }) available!: number;
}

@ObjectType('HolderStorage', { description: "CDS bytes used by a holder's PBXs against its bundle's capacity" })
export class HolderStorage {
  @Field(() => GraphQLSafeInt) usedBytes!: number;
  @Field(() => GraphQLSafeInt) capacityBytes!: number;
  @Field(() => Float, { description: 'usedBytes / capacityBytes; above 1 when over capacity' }) usageRatio!: number;
}
