import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Resolver } from 'type-graphql';
import { LicensingContext } from '../context';

@ObjectType('LegacyTransitionDecision', {
  description: 'What the transition decided for one holder with legacy licences, and the rule that decided it',
})
class LegacyTransitionDecision {
  @Field(() => ID) customerId!: string;
  @Field(() => ID, { nullable: true, description: 'The network decided for; null for a standalone PBX' }) networkId!: string | null;
  @Field(() => ID, { nullable: true, description: 'The standalone PBX decided for; null for a network' }) pbxId!: string | null;
  @Field(() => Int, { description: 'PBXs of the holder (1 for a standalone PBX)' }) pbxCount!: number;
  @Field(() => Int, { description: "The holder's legacy storage licences (a network: the sum over its PBXs)" }) legacyLicenses!: number;
  @Field({ description: 'The bundle tier decided (DEFAULT: no licences, nothing to transition)' }) code!: string;
  @Field({ description: 'The rule that made the decision, and why it was not applied when it was not' }) rule!: string;
  @Field({
    description:
      'The holder gets the decided bundle from this run (in a dry run: would get it); false when it ordered a bundle, already holds it, or has no licences',
  })
  applied!: boolean;
}

@ObjectType('LegacyTransitionReport')
class LegacyTransitionReport {
  @Field() dryRun!: boolean;
  @Field(() => Int, { description: 'Holders this run changed (0 for a dry run, and for a run repeated without new facts)' })
  changed!: number;
  @Field(() => [LegacyTransitionDecision]) decisions!: LegacyTransitionDecision[];
}

@Resolver()
export class LegacyTransitionResolver {
  @Mutation(() => LegacyTransitionReport, {
    description:
      'Admins only: the round-up of legacy storage licences into bundles (rule 9), effective from asOf (2024-02-01 or later). A dry run only reports. Running it again changes nothing; a holder that ordered a bundle keeps it.',
  })
  runLegacyLicenseTransition(
    @Arg('asOf', () => Date) asOf: Date,
    @Arg('dryRun') dryRun: boolean,
    @Ctx() { services, loaders }: LicensingContext,
  ): Promise<LegacyTransitionReport> {
    return services.legacyTransition.run(loaders, asOf, dryRun);
  }
}
