import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { RecordingLocation } from '../../../kernel/domain/enums';
import { RecordingsContext } from '../context';
import { PbxStub } from '../entities/pbx-stub';
import { Recording } from '../entities/recording';
import { PLAYBACK_LINK_TTL_SECONDS } from '../playback-link';
import { assertMayHearRecording, assertMayReadPersonalData, effectiveLocation } from '../rules';

@Resolver(() => Recording)
export class RecordingResolver {
  @Query(() => Recording, {
    nullable: true,
    description: 'A recording by id; null when there is none, FORBIDDEN when its PBX is outside your scope',
  })
  recording(@Arg('id', () => ID) id: string, @Ctx() { loaders, services }: RecordingsContext): Promise<Recording | null> {
    return services.recordings.visibleRecording(loaders, id.trim());
  }

  @FieldResolver(() => String, { nullable: true })
  caller(@Root() recording: Recording, @Ctx() { identity }: RecordingsContext): string | null {
    assertMayReadPersonalData(identity);
    return recording.caller;
  }

  @FieldResolver(() => String, { nullable: true })
  callee(@Root() recording: Recording, @Ctx() { identity }: RecordingsContext): string | null {
    assertMayReadPersonalData(identity);
    return recording.callee;
  }

  @FieldResolver(() => RecordingLocation)
  location(@Root() recording: Recording): RecordingLocation {
    return effectiveLocation(recording);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description:
      'Where the gateway streams the file from CDS (GET, Range requests welcome); null while the file is only on the PBX. ' +
      `Carries a signature valid ${PLAYBACK_LINK_TTL_SECONDS / 60} minutes (never beyond your token), so an <audio> element can play it without an Authorization header; ` +
      'a bearer token works on it too. Relative to the gateway unless it is configured with its public address. ' +
      "Personal data (the call's audio): FORBIDDEN to analysts",
  })
  playbackUrl(@Root() recording: Recording, @Ctx() { identity, services }: RecordingsContext): string | null {
    assertMayHearRecording(identity);
    return services.recordings.playbackUrl(recording, identity);
  }

  @FieldResolver(() => PbxStub, { nullable: PARTIAL, description: 'The PBX that recorded the call' + unlessDown('network') })
  pbx(@Root() recording: Recording): PbxStub {
    return { id: recording.pbxId };
  }
}
