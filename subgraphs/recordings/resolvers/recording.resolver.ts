import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { RecordingLocation } from '../../../kernel/domain/enums';
import { RecordingsContext } from '../context';
import { PbxStub } from '../entities/pbx-stub';
import { Recording } from '../entities/recording';
import { assertMayReadPersonalData, effectiveLocation } from '../rules';

@Resolver(() => Recording)
export class RecordingResolver {
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

  @FieldResolver(() => PbxStub, { description: 'The PBX that recorded the call' })
  pbx(@Root() recording: Recording): PbxStub {
    return { id: recording.pbxId };
  }
}
