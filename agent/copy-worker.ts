import { parentPort, workerData } from 'node:worker_threads';
import { RegionStores } from '../kernel/objectstore/regions';
import { Copier } from './copy';
import { AgentError, SourceFileError, StoreError } from './errors';
import type { CopyRequest, CopyResponse, CopyWorkerData } from './copy-pool';

/**
 * A copy thread of the agent (see copy-pool.ts): its own store for the
 * migration's region, copying and verifying the files the main thread hands
 * it, so SHA-256 hashing (the bulk of the CPU a large file costs) runs on
 * every core instead of one.
 */
const data = workerData as CopyWorkerData;
const port = parentPort!;
const store = RegionStores.fromConfig(data.stores).forRegion(data.region);
const copier = new Copier(store, data.probeStore);

port.on('message', (request: CopyRequest) => {
  copier.migrate(request.item, request.key).then(
    (outcome) => port.postMessage({ id: request.id, outcome } satisfies CopyResponse),
    (error: unknown) => port.postMessage({ id: request.id, error: describe(error) } satisfies CopyResponse),
  );
});

function describe(error: unknown): NonNullable<CopyResponse['error']> {
  if (error instanceof SourceFileError) return { kind: 'source', sourcePath: error.sourcePath, message: error.reason };
  if (error instanceof StoreError) return { kind: 'store', sourcePath: error.sourcePath, message: error.reason };
  if (error instanceof AgentError) return { kind: 'agent', sourcePath: null, message: error.message };
  return { kind: 'other', sourcePath: null, message: error instanceof Error ? error.message : String(error) };
}
