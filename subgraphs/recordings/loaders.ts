import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import { createDirectoryLoaders, pbxOwnership } from '../../kernel/directory';
import { Identity } from '../../kernel/identity';
import { keyedLoader } from '../../kernel/loaders';
import { Scope } from '../../kernel/scope';
import { Recording } from './entities/recording';
import { RecordingCountRequest, RecordingOffsetRequest, RecordingPageRequest, RecordingQueries } from './queries';
import { RecordingWindow } from './rules';

const millis = (date: Date | null) => (date ? date.getTime() : null);
const windowKey = (window: RecordingWindow) => [millis(window.from), millis(window.to)];

/**
 * Request-scoped loaders of the recordings subgraph. Pages and counts are
 * keyed by PBX plus arguments, so when a request asks for the recordings of
 * many PBXs (through `_entities`) all their pages cost one statement and all
 * their counts another.
 */
export function createRecordingsLoaders(db: DataSource, identity: Identity) {
  const directory = createDirectoryLoaders(db);
  const queries = new RecordingQueries(db);
  const scope = new Scope(identity, async (serial) => {
    const pbx = await directory.pbx.load(serial);
    return pbx ? pbxOwnership(pbx) : null;
  });
  return {
    directory,
    scope,
    recording: keyedLoader<string, Recording>(
      (ids) => db.getRepository(Recording).findBy({ id: In([...ids]) }),
      (r) => r.id,
    ),
    recordingPage: new DataLoader<RecordingPageRequest, Recording[], string>((requests) => queries.pages(requests), {
      cacheKeyFn: (r) => JSON.stringify([r.pbxId, r.rows, ...windowKey(r.window), millis(r.after?.startedAt ?? null), r.after?.id ?? null]),
      maxBatchSize: 1000,
    }),
    recordingOffsetPage: new DataLoader<RecordingOffsetRequest, Recording[], string>((requests) => queries.offsetPages(requests), {
      cacheKeyFn: (r) => JSON.stringify([r.pbxId, r.rows, r.offset, ...windowKey(r.window)]),
      maxBatchSize: 1000,
    }),
    recordingCount: new DataLoader<RecordingCountRequest, number, string>((requests) => queries.counts(requests), {
      cacheKeyFn: (r) => JSON.stringify([r.pbxId, ...windowKey(r.window)]),
      maxBatchSize: 1000,
    }),
  };
}

export type RecordingsLoaders = ReturnType<typeof createRecordingsLoaders>;
