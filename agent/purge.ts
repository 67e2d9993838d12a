import { lstat, unlink } from 'node:fs/promises';
import { AgentError, describeIoError } from './errors';
import { hashFile } from './hash';
import { insideSource } from './migrate';
import { CdsApi, CopyCheck, RecordingRow } from './operations';
import { sidecarOf } from './scan';
import { mapLimited } from '../kernel/map-limited';

export interface PurgeOptions {
  pbxId: string;
  sourceDir: string;
  api: CdsApi;
  log: (line: string) => void;
  /** Recordings re-verified at once. */
  concurrency: number;
  now?: Date;
}

export interface PurgeResult {
  purged: number;
  purgedBytes: number;
  sidecars: number;
  /** Still inside their 7-day window. */
  notExpired: number;
  /** Expired, but no local file any more (purged before, or removed by hand). */
  alreadyGone: number;
  /** Expired, but the local file is not the one that was migrated (size differs): left alone. */
  differs: string[];
  /** Expired, but the CDS copy did not verify: the local copy is kept. */
  notVerified: string[];
  message: string;
}

/**
 * `--purge` (DOMAIN rule 5): removes the local copy of each recording whose
 * 7-day window has passed (the server's `localCopyExpiresAt`), and its
 * sidecar, but only after the control plane re-read its CDS copy and found the
 * recorded size and SHA-256 (`cdsCopyChecks`), and the local file is that very
 * content. The agent itself cannot read CDS. Nothing else is ever
 * deleted: not backups, voicemails or faxes, not recordings still in their
 * window, not a file that differs from what was migrated.
 */
export async function purge(options: PurgeOptions): Promise<PurgeResult> {
  const { api, pbxId, sourceDir } = options;
  const now = (options.now ?? new Date()).getTime();
  const pbx = await api.pbx(pbxId);
  const result: PurgeResult = {
    purged: 0,
    purgedBytes: 0,
    sidecars: 0,
    notExpired: 0,
    alreadyGone: 0,
    differs: [],
    notVerified: [],
    message: '',
  };
  if (pbx.cds.state !== 'ACTIVE') {
    result.message = `CDS is ${pbx.cds.state} for PBX ${pbx.id}: local copies are kept until a migration completes and their 7 days have passed. Nothing was removed.`;
    return result;
  }
  for await (const page of api.recordings(pbx.id)) {
    const expired = page.filter((r) => {
      const expires = r.localCopyExpiresAt ? Date.parse(r.localCopyExpiresAt) : NaN;
      if (r.location === 'LOCAL' || !r.sourcePath || !r.objectKey || !r.sha256 || Number.isNaN(expires)) return false;
      if (expires > now) {
        result.notExpired += 1;
        return false;
      }
      return true;
    });
    if (!expired.length) continue;
    const checks = new Map(
      (
        await api.copyChecks(
          pbx.id,
          'CALL_RECORDINGS',
          expired.map((r) => r.sourcePath!),
        )
      ).map((c) => [c.sourcePath, c]),
    );
    await mapLimited(expired, options.concurrency, (recording) =>
      purgeOne(recording, sourceDir, checks.get(recording.sourcePath!) ?? null, result),
    );
  }

  const problems = [
    ...result.notVerified.map((p) => `${p} (its CDS copy did not verify)`),
    ...result.differs.map((p) => `${p} (the local file is not the one migrated)`),
  ];
  result.message =
    `Purge of PBX ${pbx.id}: removed ${result.purged} expired local recording cop${result.purged === 1 ? 'y' : 'ies'} ` +
    `(${(result.purgedBytes / 1e6).toFixed(1)} MB) and ${result.sidecars} sidecar${result.sidecars === 1 ? '' : 's'}; ` +
    `${result.notExpired} still within their 7 days, ${result.alreadyGone} already gone` +
    (problems.length ? `; KEPT ${problems.length}: ${problems.slice(0, 5).join(', ')}${problems.length > 5 ? ', ...' : ''}` : '') +
    '.';
  if (problems.length) throw new AgentError(result.message);
  return result;
}

async function purgeOne(recording: RecordingRow, sourceDir: string, check: CopyCheck | null, result: PurgeResult): Promise<void> {
  const sourcePath = recording.sourcePath!;
  const local = insideSource(sourceDir, sourcePath);
  if (!local) {
    result.differs.push(sourcePath);
    return;
  }
  const stats = await lstat(local).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new AgentError(`${sourcePath}: cannot be checked: ${describeIoError(error)}`);
  });
  if (!stats) {
    result.alreadyGone += 1;
    return;
  }
  if (!stats.isFile() || stats.size !== recording.sizeBytes) {
    result.differs.push(sourcePath);
    return;
  }
  // CDS confirmed its copy just now, and it is the recording's content; the local file must be that content too.
  if (!check?.verified || check.sha256 !== recording.sha256 || check.sizeBytes !== recording.sizeBytes) {
    result.notVerified.push(sourcePath);
    return;
  }
  const local_ = await hashFile(local).catch(() => null);
  if (!local_ || local_.sha256 !== check.sha256) {
    result.differs.push(sourcePath);
    return;
  }
  await unlink(local);
  result.purged += 1;
  result.purgedBytes += stats.size;
  const sidecar = sidecarOf(local);
  if (sidecar) {
    await unlink(sidecar).then(
      () => {
        result.sidecars += 1;
      },
      () => undefined,
    );
  }
}
