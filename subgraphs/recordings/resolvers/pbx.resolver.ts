import { Arg, Ctx, Field, FieldResolver, InputType, Int, Resolver, Root } from 'type-graphql';
import { Connection, ConnectionShape, pageSize, toConnection } from '../../../kernel/graphql/connection';
import { RecordingsContext } from '../context';
import { PbxStub } from '../entities/pbx-stub';
import { Recording } from '../entities/recording';
import { parseRecordingCursor, RecordingCountRequest, sortKeyOf } from '../queries';
import { recordingWindow } from '../rules';

@InputType({ description: 'A window on the call start: `from` inclusive, `to` exclusive; either may be left open' })
export class RecordingFilter {
  @Field(() => Date, { nullable: true, description: 'Calls that started at or after this instant (inclusive)' })
  from?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Calls that started before this instant (exclusive)' })
  to?: Date | null;
}

export const RecordingConnection = Connection('Recording', Recording);

/** A page as the `recordings` field answers it; `totalCount` is counted only when asked (RecordingConnectionResolver). */
export interface RecordingPage extends Omit<ConnectionShape<Recording>, 'totalCount'> {
  count: RecordingCountRequest;
}

@Resolver(() => PbxStub)
export class PbxRecordingsResolver {
  @FieldResolver(() => RecordingConnection, {
    description: 'Its call recordings, newest first (by call start, then id); `first` 1..500, default 50; `after` is an opaque cursor. '
      + 'Paged per PBX by keyset, so a page costs the same however many recordings the PBX has.',
  })
  async recordings(
    @Root() pbx: PbxStub,
    @Ctx() { loaders }: RecordingsContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('filter', () => RecordingFilter, { nullable: true }) filter?: RecordingFilter,
  ): Promise<RecordingPage> {
    // The PBX came through its reference resolver (or a visible recording), which scoped it.
    const limit = pageSize(first);
    const window = recordingWindow(filter?.from, filter?.to);
    const cursor = after ? parseRecordingCursor(after) : null;
    const rows = await loaders.recordingPage.load({ pbxId: pbx.id, window, after: cursor, rows: limit + 1 });
    // toConnection's count is replaced by the lazy one below.
    const { pageInfo, edges } = toConnection(rows, limit, 0, sortKeyOf);
    return { pageInfo, edges, count: { pbxId: pbx.id, window } };
  }
}

@Resolver(() => RecordingConnection)
export class RecordingConnectionResolver {
  @FieldResolver(() => Int, { description: 'How many recordings match the filter (all pages)' })
  totalCount(@Root() page: RecordingPage, @Ctx() { loaders }: RecordingsContext): Promise<number> {
    return loaders.recordingCount.load(page.count);
  }
}
