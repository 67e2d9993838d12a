import { SubgraphContext, SubgraphRuntime } from '../../kernel/subgraph';
import { RecordingsLoaders } from './loaders';
import { RecordingService } from './recordings';

export interface RecordingsServices {
  runtime: SubgraphRuntime;
  recordings: RecordingService;
}

export type RecordingsContext = SubgraphContext<RecordingsServices, RecordingsLoaders>;
