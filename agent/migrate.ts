import path from 'node:path';
import { cdsObjectKey, ObjectStore } from '../kernel/objectstore/store';
import { GatewayUnavailableError, GraphQLRequestError } from './api';
import { Copiers } from './copy-pool';
import { AgentError, SourceFileError } from './errors';
import {
  CdsApi, CdsObjectRow, Category, MigrationProgress, MigrationRef, MOVING_CATEGORIES, PbxFacts, RecordingRegistration, VerifiedItem,
} from './operations';
import { ProgressDisplay } from './progress';
import { ProgressReporter } from './reporter';
import { relative, scanSource, ScanResult, SourceItem } from './scan';
import { recordingMetadata } from './sidecar';
import { clearRunState, readRunState, writeRunState } from './state';

export interface MigrateOptions {
  pbxId: string;
  sourceDir: string;
  /** CDS region for activating a VIRTUAL/HARDWARE PBX; the PBX's own region when absent. */
  region: string | null;
  api: CdsApi;
  /** The CDS store of a region (kernel/objectstore RegionStores.forRegion); throws when the region has none. */
  storeFor: (region: string) => ObjectStore;
  display: ProgressDisplay;
  /** Files copied at once. */
  concurrency: number;
  /** Copy threads (hashing runs on each); 0 copies in the agent's own thread. */
  threads: number;
  /** The CDS_STORES configuration, for the copy threads to open their own store. */
  storesConfig: string;
  /** Items per progress report. */
  batchSize: number;
  /** Set when the user interrupts: the run stops taking new files, reports what is verified and leaves the migration to resume. */
  signal?: AbortSignal;
}

export interface MigrateResult {
  /** COMPLETED, or null when CDS was already ACTIVE and nothing was pending. */
  migration: MigrationProgress | null;
  message: string;
}

/** Files at least this large go a few at a time (two, or one per copy thread); smaller ones many at once. */
const LARGE_FILE_BYTES = 64 * 1024 * 1024;
const LARGE_FILES_AT_ONCE = 2;

interface Tally {
  copied: number;
  copiedBytes: number;
  reused: number;
  skipped: number;
}

/**
 * One migration run, start to end (contract README "The activation script",
 * DOMAIN rules 2-5): find or start the PBX's migration, take it, copy and
 * verify every file not yet safely in CDS, report in batches, and complete.
 * Anything that stops it fails the migration with the reason (local data is
 * never touched) unless the run was merely interrupted, which resumes later.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { api, pbxId, sourceDir, display } = options;
  const pbx = await api.pbx(pbxId);
  const picked = await pickMigration(api, pbx, options.region);
  if (!picked) {
    return { migration: null, message: `CDS is already ACTIVE for PBX ${pbx.id}; there is no migration to run. Recordings' local copies can be removed after 7 days with --purge.` };
  }
  const migration = picked;
  display.log(`Migration ${migration.id} of PBX ${pbx.id} (${pbx.kind}, WMS ${pbx.wmsVersion}) into CDS region ${migration.region}: ${migration.status}`);
  if (options.region && options.region !== migration.region) {
    display.log(`Note: --region ${options.region} does not apply; this migration was started for region ${migration.region}.`);
  }

  let store: ObjectStore | null = null;
  let storeProblem: string | null = null;
  try {
    store = options.storeFor(migration.region);
  } catch (error) {
    storeProblem = (error as Error).message;
  }

  display.log(`Scanning ${sourceDir} ...`);
  const [scanned, ...verifiedByCategory] = await Promise.all([
    // A folder that cannot be listed fails the migration like a file that cannot be read.
    scanSource(sourceDir).catch((error: unknown) => (error instanceof SourceFileError ? error : Promise.reject(error))),
    ...MOVING_CATEGORIES.map((category) => api.verifiedObjects(pbx.id, category)),
  ]);
  const verified = new Map<string, CdsObjectRow>();
  for (const rows of verifiedByCategory) for (const [sourcePath, row] of rows) verified.set(`${row.category}\u0000${sourcePath}`, row);
  const scan: ScanResult = scanned instanceof SourceFileError ? { items: [], inventory: [], skipped: [] } : scanned;
  if (!(scanned instanceof SourceFileError)) describeScan(display, scan);

  const saved = await readRunState(sourceDir);
  const resumeToken = saved && saved.pbxId === pbx.id && saved.migrationId === migration.id ? saved.runToken : null;
  let run: { runToken: string; migration: MigrationProgress };
  try {
    run = await api.beginRun(migration.id, scan.inventory, resumeToken);
  } catch (error) {
    if (error instanceof GraphQLRequestError) throw new AgentError(`The migration could not be taken: ${error.message}`);
    throw error;
  }
  await writeRunState(sourceDir, { pbxId: pbx.id, migrationId: migration.id, runToken: run.runToken, startedAt: new Date().toISOString() });
  display.log(resumeToken === run.runToken ? 'Resuming this agent\'s earlier run.' : `Took the migration (${run.migration.itemsDone} of ${run.migration.itemsTotal} items already verified in CDS).`);

  const fail = async (reason: string): Promise<never> => {
    let marked = false;
    try {
      await api.fail(migration.id, run.runToken, reason);
      marked = true;
      await clearRunState(sourceDir);
    } catch {
      // The server could not take the failure (gateway gone, run no longer held): the migration resumes or fails there.
    }
    throw new AgentError(`${marked ? 'Migration FAILED: ' : ''}${reason}. Local data is untouched; run the agent again to resume.`);
  };
  if (scanned instanceof SourceFileError) return fail(scanned.message);
  if (!store) return fail(storeProblem ?? `no CDS store for region ${migration.region}`);

  const todo: SourceItem[] = [];
  const confirmed: VerifiedItem[] = [];
  const done = { items: 0, bytes: 0 };
  const tally: Tally = { copied: 0, copiedBytes: 0, reused: 0, skipped: 0 };
  for (const item of scan.items) {
    // Rule 3: a file already verified in CDS is never copied again (unless it changed size since);
    // it is reported again below, which tells the server its local file is still there.
    const known = verified.get(`${item.category}\u0000${item.sourcePath}`);
    if (known && known.sizeBytes === item.sizeBytes) {
      done.items += 1;
      done.bytes += item.sizeBytes;
      tally.skipped += 1;
      confirmed.push({ category: known.category, sourcePath: known.sourcePath, objectKey: known.objectKey, sizeBytes: known.sizeBytes, sha256: known.sha256 });
    } else {
      todo.push(item);
    }
  }
  const moving = scan.inventory.filter((i) => MOVING_CATEGORIES.includes(i.category));
  display.start(
    { items: moving.reduce((n, i) => n + i.itemsTotal, 0), bytes: moving.reduce((n, i) => n + i.bytesTotal, 0) },
    done,
  );

  const reporter = new ProgressReporter(api, { pbxId: pbx.id, migrationId: migration.id, runToken: run.runToken, batchSize: options.batchSize });
  // No agent ever took a migration of this PBX: no object of it can be in the store yet.
  const untouched = migration.status === 'QUEUED' && !saved && verified.size === 0 && pbx.migrations.every((m) => m.id === migration.id);
  const copier = new Copiers(store, options.threads, { stores: options.storesConfig, region: migration.region, probeStore: !untouched });
  let failure: unknown = null;
  try {
    for (const item of confirmed) await reporter.add(item, null);
    await copyAll(todo, options, async (item) => {
      const key = objectKeyOf(pbx.id, item);
      const metadata = item.category === 'CALL_RECORDINGS'
        ? await recordingMetadata(item, item.sidecarPath ? relative(sourceDir, item.sidecarPath) : null)
        : null;
      const outcome = await copier.migrate(item, key);
      const reported: VerifiedItem = { category: item.category, sourcePath: item.sourcePath, objectKey: key, sizeBytes: outcome.sizeBytes, sha256: outcome.sha256 };
      const recording: RecordingRegistration | null = metadata
        ? { ...metadata, sourcePath: item.sourcePath, sizeBytes: outcome.sizeBytes, sha256: outcome.sha256, objectKey: key }
        : null;
      if (outcome.copied) {
        tally.copied += 1;
        tally.copiedBytes += outcome.sizeBytes;
      } else {
        tally.reused += 1;
      }
      display.advance(1, outcome.sizeBytes);
      await reporter.add(reported, recording);
    });
  } catch (error) {
    failure = error;
  }
  // Whatever is verified is reported even when the run stops, so the next run need not copy it again.
  try {
    await reporter.drain();
  } catch (error) {
    failure ??= error;
  } finally {
    reporter.close();
    display.finish();
    await copier.close();
  }

  if (options.signal?.aborted && (!failure || failure === options.signal.reason)) {
    throw new AgentError(`Interrupted: ${done.items + tally.copied + tally.reused} of ${todo.length + done.items} files are verified in CDS. Run the agent again to resume.`);
  }
  if (failure instanceof GatewayUnavailableError) throw failure;
  if (failure instanceof GraphQLRequestError && failure.has('CONFLICT')) {
    // The run no longer holds the migration (another agent took it over, or it was ended): not ours to fail.
    throw new AgentError(`The server no longer takes this run's reports: ${failure.message}`);
  }
  if (failure) return fail(failure instanceof Error ? failure.message : String(failure));

  let completed: MigrationProgress;
  try {
    completed = await api.complete(migration.id, run.runToken);
  } catch (error) {
    // An answer lost on the way: the first attempt may have completed it.
    const now = await api.migration(migration.id).catch(() => null);
    if (now?.status !== 'COMPLETED') {
      if (error instanceof GatewayUnavailableError) throw error;
      return fail((error as Error).message);
    }
    completed = now;
  }
  await clearRunState(sourceDir);
  return { migration: completed, message: summary(pbx, completed, scan, tally) };
}

/**
 * The migration this run works on: the PBX's pending one (a cloud PBX's
 * WMS_UPGRADE migration, or this agent's earlier run), else a new one started
 * by activating CDS (rule 2). Null when CDS is ACTIVE and nothing is pending.
 */
async function pickMigration(api: CdsApi, pbx: PbxFacts, region: string | null): Promise<MigrationRef | null> {
  if (pbx.currentMigration) return pbx.currentMigration;
  if (pbx.cds.state === 'ACTIVE') return null;
  try {
    return await api.activate(pbx.id, region);
  } catch (error) {
    if (!(error instanceof GraphQLRequestError) || !error.has('CONFLICT')) throw error;
    // Another agent may have activated it a moment ago: then there is a migration to take (or to be refused).
    const again = await api.pbx(pbx.id);
    if (again.currentMigration) return again.currentMigration;
    throw new AgentError(`CDS cannot be activated for PBX ${pbx.id}: ${error.message}`);
  }
}

/** Runs `work` over the files, many small ones at once and at most two large ones; stops launching at the first failure. */
async function copyAll(items: SourceItem[], options: MigrateOptions, work: (item: SourceItem) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  let large = 0;
  let failure: unknown = null;
  for (const item of items) {
    const isLarge = item.sizeBytes >= LARGE_FILE_BYTES;
    while (running.size && (running.size >= options.concurrency || (isLarge && large >= Math.max(LARGE_FILES_AT_ONCE, options.threads)))) await Promise.race(running);
    if (failure || options.signal?.aborted) break;
    if (isLarge) large += 1;
    const task: Promise<void> = work(item)
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        if (isLarge) large -= 1;
        running.delete(task);
      });
    running.add(task);
  }
  await Promise.all(running);
  if (failure) throw failure;
}

function objectKeyOf(pbxId: string, item: SourceItem): string {
  try {
    return cdsObjectKey(pbxId, item.category, item.sourcePath);
  } catch (error) {
    throw new SourceFileError(item.sourcePath, `its path cannot name a CDS object (${(error as Error).message})`);
  }
}

function describeScan(display: ProgressDisplay, scan: ScanResult): void {
  const names: Record<Category, string> = { CALL_RECORDINGS: 'recordings', BACKUPS: 'backups', VOICEMAILS: 'voicemails', FAXES: 'faxes' };
  display.log(`Found ${scan.inventory.map((i) => `${i.itemsTotal} ${names[i.category]} (${mb(i.bytesTotal)} MB)`).join(', ')}; voicemails and faxes stay on the PBX (CDS does not take them yet).`);
  if (scan.skipped.length) {
    const shown = scan.skipped.slice(0, 3).map((s) => `${s.sourcePath} (${s.reason})`).join(', ');
    display.log(`Left alone: ${scan.skipped.length} entr${scan.skipped.length === 1 ? 'y' : 'ies'} that are not files to migrate, e.g. ${shown}`);
  }
}

function summary(pbx: PbxFacts, migration: MigrationProgress, scan: ScanResult, tally: Tally): string {
  const inv = (c: Category) => scan.inventory.find((i) => i.category === c) ?? { itemsTotal: 0, bytesTotal: 0 };
  const expires = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  return [
    `Migration ${migration.id} COMPLETED: CDS is ACTIVE for PBX ${pbx.id} (region ${migration.region}).`,
    `  ${migration.itemsDone} of ${migration.itemsTotal} items verified in CDS (${mb(migration.bytesDone)} MB): `
      + `${tally.copied} copied now (${mb(tally.copiedBytes)} MB), ${tally.reused} already written and re-verified, ${tally.skipped} verified by an earlier run.`,
    `  recordings ${inv('CALL_RECORDINGS').itemsTotal}, backups ${inv('BACKUPS').itemsTotal}; `
      + `voicemails ${inv('VOICEMAILS').itemsTotal} and faxes ${inv('FAXES').itemsTotal} stay on the PBX (NOT_SUPPORTED_YET).`,
    `  Recordings keep their local copy for 7 days (until about ${expires}); then run the agent with --purge to remove the expired copies.`,
  ].join('\n');
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** The absolute path of a source path under the source root, refusing anything that would leave it. */
export function insideSource(sourceDir: string, sourcePath: string): string | null {
  const abs = path.resolve(sourceDir, ...sourcePath.split('/'));
  const root = path.resolve(sourceDir);
  return abs.startsWith(root + path.sep) ? abs : null;
}
