import { SubgraphDefinition } from '../../kernel/subgraph';
import { RecordingsServices } from './context';
import { PbxStub } from './entities/pbx-stub';
import { Recording } from './entities/recording';
import { RecordingDayCount } from './entities/recording-day-count';
import { createRecordingsLoaders, RecordingsLoaders } from './loaders';
import { RECORDINGS_MIGRATIONS } from './migrations';
import { RecordingService } from './recordings';
import {
  PbxRecordingsByOffsetResolver,
  PbxRecordingsResolver,
  RecordingConnectionResolver,
  RecordingOffsetPageResolver,
} from './resolvers/pbx.resolver';
import { RecordingResolver } from './resolvers/recording.resolver';
import { RegistrationResolver } from './resolvers/registration.resolver';
import { EventPayloads } from '../../kernel/events/catalog';

/**
 * The recordings subgraph: call recordings of PBXs, paged per PBX by keyset
 * (`Pbx.recordings`) or by position (`Pbx.recordingsByOffset`, for the REST
 * endpoint), one by id (`recording`), with signed playback links.
 */
export const recordingsSubgraph: SubgraphDefinition<RecordingsServices, RecordingsLoaders> = {
  name: 'recordings',
  resolvers: [
    PbxRecordingsResolver,
    RecordingConnectionResolver,
    PbxRecordingsByOffsetResolver,
    RecordingOffsetPageResolver,
    RecordingResolver,
    RegistrationResolver,
  ],
  orphanedTypes: [PbxStub, Recording],
  entities: [Recording, RecordingDayCount],
  migrations: RECORDINGS_MIGRATIONS,
  usesDirectory: true,
  createServices: (runtime) => ({ runtime, recordings: new RecordingService(runtime) }),
  eventAppliers: ({ recordings }) => ({
    // Rule 5: once the migration completes, migrated recordings keep a 7-day local copy.
    MigrationCompleted: (em, event) => {
      const { pbxId, completedAt } = event.payload as EventPayloads['MigrationCompleted'];
      return recordings.markMigrated(em, pbxId, new Date(completedAt));
    },
  }),
  createLoaders: (services, identity) => createRecordingsLoaders(services.runtime.db, identity),
  references: {
    // A representation grants nothing by itself: both are scoped through the directory.
    Pbx: async ({ id }, { loaders, services }) => {
      const pbx = await services.recordings.visiblePbx(loaders, id);
      return pbx ? { id: pbx.id } : null;
    },
    Recording: ({ id }, { loaders, services }) => services.recordings.visibleRecording(loaders, id),
  },
};
