import { Arg, Ctx, Field, FieldResolver, InputType, Int, ObjectType, Resolver, Root } from 'type-graphql';
import { PARTIAL, unlessDown } from '../../../kernel/graphql/partial';
import { badInput } from '../../../kernel/errors';
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

/** A page by position (`Pbx.recordingsByOffset`); `totalCount` is counted only when asked. */
@ObjectType({ description: 'A page of recordings by position, newest first' })
export class RecordingOffsetPage {
  @Field(() => Int, { description: 'How many recordings came before this page' }) offset!: number;
  @Field(() => [Recording], { description: 'At most `first` recordings, newest first' }) nodes!: Recording[];
  count!: RecordingCountRequest;
}

/** Default page size of recordingsByOffset: that of GET /api/v1/pbx/recordings, which it serves. */
const OFFSET_PAGE_DEFAULT = 100;

/** A page as the `recordings` field answers it; `totalCount` is counted only when asked (RecordingConnectionResolver). */
export interface RecordingPage extends Omit<ConnectionShape<Recording>, 'totalCount'> {
  count: RecordingCountRequest;
}

@Resolver(() => PbxStub)
export class PbxRecordingsResolver {
  @FieldResolver(() => RecordingConnection, {
    nullable: PARTIAL,
    description:
      'Its call recordings, newest first (by call start, then id); `first` 1..500, default 50; `after` is an opaque cursor. ' +
      'Paged per PBX by keyset, so a page costs the same however many recordings the PBX has' +
      unlessDown('recordings'),
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

@Resolver(() => PbxStub)
export class PbxRecordingsByOffsetResolver {
  @FieldResolver(() => RecordingOffsetPage, {
    nullable: PARTIAL,
    description:
      'Its call recordings by position, newest first (by call start, then id), for clients that page with offsets ' +
      '(GET /api/v1/pbx/recordings). `first` 1..500, default 100; `offset` 0 or more, default 0. ' +
      'Cost: an offset has to be walked. Whole days newer than the page are skipped by per-day counts, and the rest (at most ' +
      "one day's recordings) is walked inside the (pbxId, startedAt, id) index, reading table rows only for the page itself; " +
      'so a deep page costs about a millisecond plus one row per day of history, not one per skipped recording. ' +
      'Pages shift when recordings arrive between requests; `recordings` (keyset cursors) does not, prefer it where you can keep a cursor' +
      unlessDown('recordings'),
  })
  async recordingsByOffset(
    @Root() pbx: PbxStub,
    @Ctx() { loaders }: RecordingsContext,
    @Arg('offset', () => Int, { nullable: true }) offset?: number,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('filter', () => RecordingFilter, { nullable: true }) filter?: RecordingFilter,
  ): Promise<RecordingOffsetPage> {
    const rows = pageSize(first, OFFSET_PAGE_DEFAULT);
    const skip = offset ?? 0;
    if (!Number.isSafeInteger(skip) || skip < 0) throw badInput(`'offset' must be a whole number, 0 or more (got ${skip})`, 'offset');
    const window = recordingWindow(filter?.from, filter?.to);
    const nodes = await loaders.recordingOffsetPage.load({ pbxId: pbx.id, window, offset: skip, rows });
    return Object.assign(new RecordingOffsetPage(), { offset: skip, nodes, count: { pbxId: pbx.id, window } });
  }
}

@Resolver(() => RecordingOffsetPage)
export class RecordingOffsetPageResolver {
  @FieldResolver(() => Int, { description: 'How many recordings match the filter (all pages)' })
  totalCount(@Root() page: RecordingOffsetPage, @Ctx() { loaders }: RecordingsContext): Promise<number> {
    return loaders.recordingCount.load(page.count);
  }
}

@Resolver(() => RecordingConnection)
export class RecordingConnectionResolver {
  @FieldResolver(() => Int, { description: 'How many recordings match the filter (all pages)' })
  totalCount(@Root() page: RecordingPage, @Ctx() { loaders }: RecordingsContext): Promise<number> {
    return loaders.recordingCount.load(page.count);
  }
}
