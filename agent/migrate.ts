import { mapLimited } from '../kernel/map-limited';
import { GatewayUnavailableError, GraphQLRequestError } from './api';
import { AgentError, SourceFileError } from './errors';
import {
  ALL_CATEGORIES,
  CdsApi,
  CdsObjectRow,
  Category,
  MigrationProgress,
  MigrationRef,
  PbxFacts,
  RecordingRegistration,
  VerifiedItem,
} from './operations';
import { Retrier } from './retry';
import { prepare, PreparedItem, UploadedItem, Uploader } from './upload';
import { ProgressDisplay } from './progress';
import { ProgressReporter } from './reporter';
import { scanSource, ScanResult, SourceItem, sourceRoot } from './scan';
import { recordingMetadata } from './sidecar';
import { joinPath, sourcePathOf, textToName } from './source-names';
import { clearRunState, readRunState, writeRunState } from './state';

export interface MigrateOptions {
  pbxId: string;
  sourceDir: string;
  /** CDS region for activating a VIRTUAL/HARDWARE PBX; the PBX's own region when absent. */
  region: string | null;
  api: CdsApi;
  /** The gateway's GraphQL URL (uploads go to the same origin) and the PBX's Authorization header. */
  gatewayUrl: string;
  authorization: string;
  retrier: Retrier;
  display: ProgressDisplay;
  /** Files hashed at once. */
  concurrency: number;
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

/** A batch (one grant request, then its uploads) holds at most this many bytes; a larger file goes alone. */
const BATCH_BYTES = 256 * 1024 * 1024;
/** Batches under way at once: one hashing while another uploads and a third is reported. */
const BATCHES_AT_ONCE = 3;

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
    return {
      migration: null,
      message: `CDS is already ACTIVE for PBX ${pbx.id}; there is no migration to run. Recordings' local copies can be removed after 7 days with --purge.`,
    };
  }
  const migration = picked;
  display.log(
    `Migration ${migration.id} of PBX ${pbx.id} (${pbx.kind}, WMS ${pbx.wmsVersion}) into CDS region ${migration.region}: ${migration.status}`,
  );
  if (options.region && options.region !== migration.region) {
    display.log(`Note: --region ${options.region} does not apply; this migration was started for region ${migration.region}.`);
  }

  display.log(`Scanning ${sourceDir} ...`);
  const [scanned, ...verifiedByCategory] = await Promise.all([
    // A folder that cannot be listed fails the migration like a file that cannot be read.
    scanSource(sourceDir).catch((error: unknown) => (error instanceof SourceFileError ? error : Promise.reject(error))),
    ...ALL_CATEGORIES.map((category) => api.verifiedObjects(pbx.id, category).catch(() => new Map<string, CdsObjectRow>())),
  ]);
  const verified = new Map<string, CdsObjectRow>();
  for (const rows of verifiedByCategory) for (const [sourcePath, row] of rows) verified.set(`${row.category}\u0000${sourcePath}`, row);
  const scan: ScanResult = scanned instanceof SourceFileError ? { items: [], inventory: [], skipped: [] } : scanned;

  const saved = await readRunState(sourceDir);
  const resumeToken = saved && saved.pbxId === pbx.id && saved.migrationId === migration.id ? saved.runToken : null;
  let run: { runToken: string; migration: MigrationProgress };
  try {
    run = await api.beginRun(migration.id, scan.inventory, resumeToken, scan.skipped);
  } catch (error) {
    if (error instanceof GraphQLRequestError) throw new AgentError(`The migration could not be taken: ${error.message}`);
    throw error;
  }
  await writeRunState(sourceDir, { pbxId: pbx.id, migrationId: migration.id, runToken: run.runToken, startedAt: new Date().toISOString() });
  display.log(
    resumeToken === run.runToken
      ? "Resuming this agent's earlier run."
      : `Took the migration (${run.migration.itemsDone} of ${run.migration.itemsTotal} items already verified in CDS).`,
  );

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
  // Rule 4 as the server has it: a category NOT_SUPPORTED_YET in this migration stays on the PBX.
  const moving = new Set((run.migration.categories ?? []).filter((c) => c.state !== 'NOT_SUPPORTED_YET').map((c) => c.category));
  describeScan(display, scan, moving);

  const todo: SourceItem[] = [];
  const confirmed: VerifiedItem[] = [];
  const done = { items: 0, bytes: 0 };
  const tally: Tally = { copied: 0, copiedBytes: 0, reused: 0, skipped: 0 };
  for (const item of scan.items.filter((i) => moving.has(i.category))) {
    // Rule 3: a file already verified in CDS is never copied again (unless it changed size since);
    // it is reported again below, which tells the server its local file is still there.
    const known = verified.get(`${item.category}\u0000${item.sourcePath}`);
    if (known && known.sizeBytes === item.sizeBytes) {
      done.items += 1;
      done.bytes += item.sizeBytes;
      tally.skipped += 1;
      confirmed.push({
        category: known.category,
        sourcePath: known.sourcePath,
        objectKey: known.objectKey,
        sizeBytes: known.sizeBytes,
        sha256: known.sha256,
      });
    } else {
      todo.push(item);
    }
  }
  const movingInventory = scan.inventory.filter((i) => moving.has(i.category));
  display.start(
    { items: movingInventory.reduce((n, i) => n + i.itemsTotal, 0), bytes: movingInventory.reduce((n, i) => n + i.bytesTotal, 0) },
    done,
  );

  let lastVerifying = '';
  const reporter = new ProgressReporter(api, {
    pbxId: pbx.id,
    migrationId: migration.id,
    runToken: run.runToken,
    batchSize: options.batchSize,
    onVerifying: (sourcePaths) => {
      const said = sourcePaths.join('\u0000');
      if (said === lastVerifying) return;
      lastVerifying = said;
      display.log(
        `Waiting: CDS is reading ${sourcePaths.length === 1 ? sourcePaths[0] : `${sourcePaths.length} files (${sourcePaths[0]}, ...)`} back from its store to verify ${sourcePaths.length === 1 ? 'it' : 'them'}.`,
      );
    },
  });
  const uploader = new Uploader({
    api,
    gatewayUrl: options.gatewayUrl,
    authorization: options.authorization,
    migrationId: migration.id,
    runToken: run.runToken,
    retrier: options.retrier,
  });
  const register = async (uploaded: UploadedItem) => {
    const { item, declared, objectKey, receipt } = uploaded;
    const metadata =
      item.category === 'CALL_RECORDINGS'
        ? await recordingMetadata(item, item.sidecarPath ? sourcePathOf(sourceRoot(sourceDir), item.sidecarPath) : null)
        : null;
    const reported: VerifiedItem = {
      category: item.category,
      sourcePath: item.sourcePath,
      objectKey,
      sizeBytes: declared.sizeBytes,
      sha256: declared.sha256,
      ...(receipt ? { receipt } : {}),
    };
    const recording: RecordingRegistration | null = metadata
      ? { ...metadata, sourcePath: item.sourcePath, sizeBytes: declared.sizeBytes, sha256: declared.sha256, objectKey }
      : null;
    if (uploaded.stored) {
      tally.copied += 1;
      tally.copiedBytes += declared.sizeBytes;
    } else {
      tally.reused += 1;
    }
    display.advance(1, declared.sizeBytes);
    await reporter.add(reported, recording);
  };
  const moveAll = async (items: SourceItem[]) => {
    await mapLimited(batchesOf(items, options.batchSize), BATCHES_AT_ONCE, async (batch) => {
      if (options.signal?.aborted) return;
      const prepared: PreparedItem[] = await mapLimited(batch, options.concurrency, (item) => prepare(item));
      for (const uploaded of await uploader.upload(prepared)) await register(uploaded);
    });
  };
  let failure: unknown = null;
  try {
    for (const item of confirmed) await reporter.add(item, null);
    await moveAll(todo);
    // Objects CDS found wrong when it verified them (it removed them): uploaded once more, then they must verify.
    for (let round = 0; round < 2; round++) {
      await reporter.drain();
      if (!reporter.unverified.length) break;
      const again = new Set(reporter.unverified.map((i) => `${i.category}\u0000${i.sourcePath}`));
      reporter.unverified = [];
      if (round === 1)
        throw new AgentError(
          `${[...again][0].split('\u0000')[1]}: its CDS copy did not verify after being uploaded again; it was not counted`,
        );
      await moveAll(todo.filter((i) => again.has(`${i.category}\u0000${i.sourcePath}`)));
    }
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
  }

  if (options.signal?.aborted && (!failure || failure === options.signal.reason)) {
    throw new AgentError(
      `Interrupted: ${done.items + tally.copied + tally.reused} of ${todo.length + done.items} files are verified in CDS. Run the agent again to resume.`,
    );
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
  return { migration: completed, message: summary(pbx, completed, scan, tally, moving) };
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

/** Batches of at most `size` files and BATCH_BYTES bytes (a larger file alone), in order. */
function batchesOf(items: SourceItem[], size: number): SourceItem[][] {
  const batches: SourceItem[][] = [];
  let batch: SourceItem[] = [];
  let bytes = 0;
  for (const item of items) {
    if (batch.length && (batch.length >= size || bytes + item.sizeBytes > BATCH_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.sizeBytes;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

const NAMES: Record<Category, string> = { CALL_RECORDINGS: 'recordings', BACKUPS: 'backups', VOICEMAILS: 'voicemails', FAXES: 'faxes' };

function describeScan(display: ProgressDisplay, scan: ScanResult, moving: Set<Category>): void {
  const staying = ALL_CATEGORIES.filter((c) => !moving.has(c)).map((c) => NAMES[c]);
  display.log(
    `Found ${scan.inventory.map((i) => `${i.itemsTotal} ${NAMES[i.category]} (${mb(i.bytesTotal)} MB)`).join(', ')}` +
      (staying.length ? `; ${staying.join(' and ')} stay on the PBX (CDS does not take them yet).` : '.'),
  );
  if (scan.skipped.length) {
    const shown = scan.skipped
      .slice(0, 3)
      .map((s) => `${s.sourcePath} (${s.reason})`)
      .join(', ');
    display.log(
      `Left alone: ${scan.skipped.length} entr${scan.skipped.length === 1 ? 'y' : 'ies'} that are not files to migrate, e.g. ${shown}`,
    );
  }
}

function summary(pbx: PbxFacts, migration: MigrationProgress, scan: ScanResult, tally: Tally, moving: Set<Category>): string {
  const inv = (c: Category) => scan.inventory.find((i) => i.category === c) ?? { itemsTotal: 0, bytesTotal: 0 };
  const staying = ALL_CATEGORIES.filter((c) => !moving.has(c));
  const lines = [
    `Migration ${migration.id} COMPLETED: CDS is ACTIVE for PBX ${pbx.id} (region ${migration.region}).`,
    `  ${migration.itemsDone} of ${migration.itemsTotal} items verified by CDS (${mb(migration.bytesDone)} MB): ` +
      `${tally.copied} uploaded now (${mb(tally.copiedBytes)} MB), ${tally.reused} already in CDS from an earlier run, ${tally.skipped} verified by an earlier run.`,
    `  ${[...moving].map((c) => `${NAMES[c]} ${inv(c).itemsTotal}`).join(', ')}` +
      (staying.length
        ? `; ${staying.map((c) => `${NAMES[c]} ${inv(c).itemsTotal}`).join(' and ')} stay on the PBX (NOT_SUPPORTED_YET).`
        : '.'),
  ];
  if (scan.skipped.length) {
    lines.push(
      `  Skipped ${scan.skipped.length} entr${scan.skipped.length === 1 ? 'y' : 'ies'} of the source tree (not migrated): ` +
        scan.skipped
          .slice(0, 10)
          .map((e) => `${e.sourcePath} (${e.reason})`)
          .join(', ') +
        (scan.skipped.length > 10 ? ', ...' : ''),
    );
  }
  if (migration.localCopyExpiresAt) {
    lines.push(
      `  Recordings keep their local copy until ${migration.localCopyExpiresAt.slice(0, 10)}; then run the agent with --purge to remove the expired copies.`,
    );
  }
  return lines.join('\n');
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/**
 * The absolute path of a source path under the source root, refusing anything
 * that would leave it (or name it): each name is decoded to its bytes
 * (agent/source-names.ts) and none may be empty, '.' or '..', so the path
 * cannot climb out whatever the bytes are. The server never stores such a path.
 */
export function insideSource(sourceDir: string, sourcePath: string): Buffer | null {
  let names: Buffer[];
  try {
    names = sourcePath.split('/').map((text) => textToName(text));
  } catch {
    return null;
  }
  if (names.some((n) => !n.length || n.includes(0) || n.equals(DOT) || n.equals(DOT_DOT))) return null;
  return joinPath(sourceRoot(sourceDir), ...names);
}
const DOT = Buffer.from('.');
const DOT_DOT = Buffer.from('..');
