import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Resolver } from 'type-graphql';
import { GraphQLSafeInt } from 'graphql-scalars';
import { pbxOwnership } from '../../../kernel/directory';
import { badInput } from '../../../kernel/errors';
import { requireRole } from '../../../kernel/identity';
import { RecordingsContext } from '../context';
import { DataCategory } from '../../../kernel/domain/enums';
import { objectKeyFor } from '../../../kernel/objectstore/store';
import { normalizeSourcePath } from '../recordings';

@InputType({ description: "A recording file the CDS agent copied into CDS and verified, with its sidecar's metadata" })
class MigratedRecordingInput {
  @Field({ description: "Path relative to the PBX's storage root, e.g. recordings/2024/05/call-1.wav" }) sourcePath!: string;
  @Field(() => String, { nullable: true }) callId?: string | null;
  @Field({ description: "The call's start (the sidecar's startedAt, else the file's modification time)" }) startedAt!: Date;
  @Field(() => Int) durationSeconds!: number;
  @Field(() => GraphQLSafeInt) sizeBytes!: number;
  @Field(() => String, { nullable: true }) caller?: string | null;
  @Field(() => String, { nullable: true }) callee?: string | null;
  @Field({ description: 'Hex SHA-256, verified on the CDS copy' }) sha256!: string;
  @Field() objectKey!: string;
}

@ObjectType()
class RegisterRecordingsPayload {
  @Field(() => Int, { description: 'How many of the given recordings are now registered (already registered ones included)' })
  registered!: number;
}

/** Registers the recordings an agent moved; they read LOCAL until their migration completes (rule 5). */
export const MAX_RECORDINGS_PER_CALL = 1000;

@Resolver()
export class RegistrationResolver {
  @Mutation(() => RegisterRecordingsPayload, {
    description: 'The CDS agent registers recordings it copied and verified (at most 1000 a call); idempotent per file',
  })
  async registerRecordings(
    @Arg('pbxId', () => ID) pbxId: string,
    @Arg('migrationId', () => ID, { nullable: true }) migrationId: string | null,
    @Arg('recordings', () => [MigratedRecordingInput]) recordings: MigratedRecordingInput[],
    @Ctx() { loaders, services }: RecordingsContext,
  ): Promise<RegisterRecordingsPayload> {
    requireRole(loaders.scope.identity, ['admin', 'partner', 'pbx'], 'register recordings');
    if (recordings.length > MAX_RECORDINGS_PER_CALL)
      throw badInput(`At most ${MAX_RECORDINGS_PER_CALL} recordings a call (got ${recordings.length})`, 'recordings');
    const pbx = await services.runtime.directory.requirePbx(loaders.directory, pbxId.trim().toLowerCase());
    await loaders.scope.assertActs(pbxOwnership(pbx), 'PBX', pbx.id);
    for (const r of recordings) {
      // CDS chooses keys (storage's upload grants): a recording can only point at its own file's object.
      const sourcePath = normalizeSourcePath(r.sourcePath);
      const expected = objectKeyFor(pbx.id, DataCategory.CALL_RECORDINGS, sourcePath, r.sha256);
      if (r.objectKey !== expected) {
        throw badInput(
          `'${r.objectKey.slice(0, 300)}' is not the CDS object key of ${sourcePath} of PBX ${pbx.id} (CDS chooses keys); nothing was registered`,
          'objectKey',
        );
      }
    }
    const rows = await services.runtime.transact((em) =>
      services.recordings.registerRecordings(
        em,
        recordings.map((r) => ({ ...r, pbxId: pbx.id, migrationId })),
      ),
    );
    return { registered: rows.length };
  }
}
