import { GraphQLSafeInt } from 'graphql-scalars';
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { BundleSource } from '../../../kernel/domain/enums';
import type { Holder } from '../holders';
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
  @Field({
    description:
      'More PBXs hold a static IP than the allowance allows (a PBX that had one joined the holder): they keep their addresses, and no more are assigned until enough are released or a larger bundle is ordered',
  })
  overAllowance!: boolean;
}

@ObjectType('HolderStorage', {
  description: "CDS bytes used by a holder's PBXs against its bundle's capacity, and its usage alert (rule 10)",
})
export class HolderStorage {
  /** whose storage this is (not a field: the alert fields look the holder's alert up by it) */
  holder!: Holder;
  @Field(() => GraphQLSafeInt) usedBytes!: number;
  @Field(() => GraphQLSafeInt) capacityBytes!: number;
  @Field(() => Float, { description: 'usedBytes / capacityBytes; above 1 when over capacity' }) usageRatio!: number;
}
