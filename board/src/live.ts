import { useCallback, useEffect, useRef, useState } from 'react';
import PROGRESS from './operations/MigrationProgress.graphql?raw';
import { useBoard, useSubscription } from './hooks';
import { MigrationProgressEvent } from './types';

export type LiveMigration = MigrationProgressEvent['migrationProgress']['migration'];

/**
 * The migrationProgress subscription for a network or a PBX: the latest event
 * per PBX (kept after COMPLETED so the bar is seen at 100%), and a refetch of
 * the page's query when a migration finishes (usage, state and history change
 * then) and when the connection comes back after a drop (events were missed).
 */
export function useLiveMigrations(scope: { networkId: string } | { pbxId: string } | null, onFinished: () => void) {
  const [byPbx, setByPbx] = useState<Record<string, LiveMigration>>({});
  const finished = useRef(onFinished);
  finished.current = onFinished;
  const onData = useCallback((event: MigrationProgressEvent) => {
    const migration = event.migrationProgress.migration;
    setByPbx((current) => ({ ...current, [migration.pbx.id]: migration }));
    if (migration.status === 'COMPLETED' || migration.status === 'FAILED') finished.current();
  }, []);
  const error = useSubscription<MigrationProgressEvent>(PROGRESS, scope, onData);
  const { api } = useBoard();
  useEffect(() => api.onReconnect(() => finished.current()), [api]);
  return { byPbx, error };
}
