import { randomUUID } from 'node:crypto';
import { EntityManager, In } from 'typeorm';
import { DirectoryPbx, pbxOwnership } from '../../kernel/directory';
import { RecordingLocation } from '../../kernel/domain/enums';
import { normalizeSerial } from '../../kernel/domain/rules';
import { badInput, DomainError } from '../../kernel/errors';
import { Identity } from '../../kernel/identity';
import { MAX_SOURCE_PATH_BYTES, sourcePathHash } from '../../kernel/objectstore/store';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { addToDayCounts } from './day-counts';
import { Recording } from './entities/recording';
import { RecordingsLoaders } from './loaders';
import { PLAYBACK_LINK_TTL_SECONDS, playbackPath, playbackSecretFrom, signPlaybackGrant } from './playback-link';
import { effectiveLocation, localCopyExpiry } from './rules';

/** What the CDS agent knows of one recording file when it registers it. */
export interface RecordingRegistration {
  /** PBX serial */
  pbxId: string;
  /** the file's path on the PBX relative to its storage root, e.g. recordings/2024/05/14/call-1.wav */
  sourcePath: string;
  callId?: string | null;
  startedAt: Date;
  durationSeconds: number;
  sizeBytes: number;
  caller?: string | null;
  callee?: string | null;
  /** LOCAL when absent */
  location?: RecordingLocation;
  /** required for CDS_WITH_LOCAL_COPY (see rules.localCopyExpiry) */
  localCopyExpiresAt?: Date | null;
  /** hex SHA-256; required once the file is in CDS (rule 5: verified before it counts) */
  sha256?: string | null;
  /** where the file lives in CDS; required once it is there */
  objectKey?: string | null;
  migrationId?: string | null;
}

/** Rows per INSERT: well below SQLite's bound-parameter limit at 15 columns a row. */
const INSERT_CHUNK = 500;

const fileKey = (pbxId: string, sourcePath: string | null) => `${pbxId}\u0000${sourcePath ?? ''}`;

/**
 * Inserts recordings, skipping any whose (pbxId, sourcePath) is already
 * there: the conflict updates nothing, so a file registered twice, or by two
 * agents at once, stays one row. Every recording goes in through here, which
 * keeps the per-day counts (day-counts.ts) in the same transaction; returns
 * the rows it actually inserted (those whose fresh id is now in the table).
 */
export async function insertRecordingRows(em: EntityManager, rows: readonly Recording[]): Promise<Recording[]> {
  const inserted: Recording[] = [];
  for (const row of rows) row.sourcePathHash = row.sourcePath === null ? null : sourcePathHash(row.sourcePath);
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    await em
      .createQueryBuilder()
      .insert()
      .into(Recording)
      .values(chunk)
      .orUpdate(['pbxId'], ['pbxId', 'sourcePathHash'])
      .updateEntity(false)
      .execute();
    // Ids are new random UUIDs: one found now was written by this statement, not by an earlier registration.
    const found = await em
      .createQueryBuilder(Recording, 'r')
      .select('r.id', 'id')
      .where('r.id IN (:...ids)', { ids: chunk.map((r) => r.id) })
      .getRawMany<{ id: string }>();
    const ours = new Set(found.map((r) => r.id));
    inserted.push(...chunk.filter((r) => ours.has(r.id)));
  }
  await addToDayCounts(em, inserted);
  return inserted;
}

/** The commands and lookups of the recordings subgraph. */
export class RecordingService {
  /** null: no secret configured, so links carry no signature and need a bearer token */
  private readonly playbackSecret: string | null;
  /** e.g. https://cds.example.com; links are relative to the gateway when unset */
  private readonly publicUrl: string;

  constructor(private readonly runtime: SubgraphRuntime) {
    this.playbackSecret = playbackSecretFrom(runtime.settings);
    this.publicUrl = (runtime.settings.GATEWAY_PUBLIC_URL ?? '').replace(/\/+$/, '');
  }

  /**
   * Where the gateway streams this recording's CDS copy (gateway/playback.ts):
   * null while the file is only on the PBX (the control plane cannot serve a
   * local copy). Signed when a secret is configured (playback-link.ts), so it
   * plays without an Authorization header for PLAYBACK_LINK_TTL_SECONDS, and
   * never longer than the token of the caller it was handed to.
   */
  playbackUrl(recording: Recording, identity: Identity, now: Date = new Date()): string | null {
    if (effectiveLocation(recording, now) === RecordingLocation.LOCAL || !recording.objectKey || !recording.sha256) return null;
    const path = `${this.publicUrl}${playbackPath(recording.id)}`;
    if (!this.playbackSecret) return path;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const expiresAt = Math.min(nowSeconds + PLAYBACK_LINK_TTL_SECONDS, identity.expiresAt ?? Number.MAX_SAFE_INTEGER);
    return `${path}?${signPlaybackGrant(this.playbackSecret, { recordingId: recording.id, pbxId: recording.pbxId, expiresAt })}`;
  }

  /**
   * A PBX as the directory knows it, if the caller may see it: null when the
   * PBX is unknown (after the directory caught up with published events),
   * FORBIDDEN when it is outside the caller's scope.
   */
  async visiblePbx(loaders: RecordingsLoaders, id: string): Promise<DirectoryPbx | null> {
    let pbx: DirectoryPbx;
    try {
      pbx = await this.runtime.directory.requirePbx(loaders.directory, id);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
    await loaders.scope.assertSees(pbxOwnership(pbx), 'PBX', id);
    return pbx;
  }

  /**
   * A recording, if the caller may see its PBX: null when there is no such
   * recording (or its PBX is unknown), FORBIDDEN when its PBX is out of scope.
   */
  async visibleRecording(loaders: RecordingsLoaders, id: string): Promise<Recording | null> {
    const recording = await loaders.recording.load(id);
    if (!recording) return null;
    const pbx = await loaders.directory.pbx.load(recording.pbxId);
    if (!pbx) return null;
    await loaders.scope.assertSees(pbxOwnership(pbx), 'Recording', id);
    return recording;
  }

  /**
   * Rule 5 at completion: every recording of the PBX that is in CDS (has its
   * verified object) but still reads LOCAL becomes CDS_WITH_LOCAL_COPY, its
   * local copy kept until `completedAt` + 7 days.
   */
  async markMigrated(em: EntityManager, pbxId: string, completedAt: Date): Promise<void> {
    await em
      .createQueryBuilder()
      .update(Recording)
      .set({ location: RecordingLocation.CDS_WITH_LOCAL_COPY, localCopyExpiresAt: localCopyExpiry(completedAt) })
      .where('pbxId = :pbxId AND location = :local AND objectKey IS NOT NULL AND sha256 IS NOT NULL', {
        pbxId,
        local: RecordingLocation.LOCAL,
      })
      .execute();
  }

  /**
   * Registers recording files of PBXs (what the CDS agent reports), in the
   * caller's transaction. Idempotent on (pbxId, sourcePath): a file already
   * registered keeps its row unchanged and that row is returned; changes of
   * location or checksum are separate commands. Answers one row per input,
   * in input order. Checks every row before writing any.
   */
  async registerRecordings(em: EntityManager, registrations: readonly RecordingRegistration[]): Promise<Recording[]> {
    const now = new Date();
    const candidates = registrations.map((registration, index) => newRecording(em, registration, index, now));
    const unique = new Map<string, Recording>();
    for (const candidate of candidates) {
      const key = fileKey(candidate.pbxId, candidate.sourcePath);
      if (!unique.has(key)) unique.set(key, candidate);
    }
    await insertRecordingRows(em, [...unique.values()]);

    const pathsByPbx = new Map<string, string[]>();
    for (const candidate of unique.values()) {
      const paths = pathsByPbx.get(candidate.pbxId) ?? [];
      paths.push(candidate.sourcePath!);
      pathsByPbx.set(candidate.pbxId, paths);
    }
    const stored = new Map<string, Recording>();
    for (const [pbxId, paths] of pathsByPbx) {
      for (let i = 0; i < paths.length; i += INSERT_CHUNK) {
        const hashes = paths.slice(i, i + INSERT_CHUNK).map((p) => sourcePathHash(p));
        const found = await em.find(Recording, { where: { pbxId, sourcePathHash: In(hashes) } });
        for (const recording of found) stored.set(fileKey(recording.pbxId, recording.sourcePath), recording);
      }
    }
    return candidates.map((candidate) => {
      const recording = stored.get(fileKey(candidate.pbxId, candidate.sourcePath));
      if (!recording) throw new Error(`recording ${candidate.pbxId}:${candidate.sourcePath} vanished after its insert`);
      return recording;
    });
  }
}

/** `recordings/2024/x.wav`: forward slashes, relative, no `.` or `..` segments. */
export function normalizeSourcePath(path: string, field = 'sourcePath'): string {
  const segments = path
    .trim()
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (path.trim().startsWith('/') || /^[A-Za-z]:/.test(path.trim())) {
    throw badInput(`'${path}' must be relative to the PBX's storage root`, field);
  }
  if (!segments.length || segments.includes('..')) {
    throw badInput(`'${path}' is not a file path under the PBX's storage root`, field);
  }
  const normalized = segments.join('/');
  if (normalized.includes('\0')) throw badInput(`'${field}' contains a NUL character, which no file name can`, field);
  if (Buffer.byteLength(normalized) > MAX_SOURCE_PATH_BYTES)
    throw badInput(`'${field}' is longer than ${MAX_SOURCE_PATH_BYTES} bytes`, field);
  return normalized;
}

function optionalText(value: string | null | undefined, field: string, max = 255): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text.length > max) throw badInput(`'${field}' is longer than ${max} characters`, field);
  return text || null;
}

function newRecording(em: EntityManager, r: RecordingRegistration, index: number, now: Date): Recording {
  const at = (field: string) => `${field} (recording ${index + 1})`;
  const pbxId = normalizeSerial(r.pbxId);
  if (!(r.startedAt instanceof Date) || Number.isNaN(r.startedAt.getTime()))
    throw badInput(`${at('startedAt')} is not a valid instant`, 'startedAt');
  if (!Number.isInteger(r.durationSeconds) || r.durationSeconds < 0 || r.durationSeconds > 2 ** 31 - 1) {
    throw badInput(`${at('durationSeconds')} must be a whole number of seconds, 0 or more`, 'durationSeconds');
  }
  if (!Number.isSafeInteger(r.sizeBytes) || r.sizeBytes < 0)
    throw badInput(`${at('sizeBytes')} must be a whole number of bytes, 0 or more`, 'sizeBytes');
  const sha256 = r.sha256 ? r.sha256.trim().toLowerCase() : null;
  if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) throw badInput(`${at('sha256')} must be 64 hexadecimal characters`, 'sha256');
  const location = r.location ?? RecordingLocation.LOCAL;
  if (!Object.values(RecordingLocation).includes(location))
    throw badInput(`${at('location')} '${location}' is not a RecordingLocation`, 'location');
  const objectKey = optionalText(r.objectKey, 'objectKey', 1024);
  const localCopyExpiresAt = r.localCopyExpiresAt ?? null;
  if (location !== RecordingLocation.LOCAL && (!sha256 || !objectKey)) {
    // Rule 5: a file counts as in CDS only once its copy is written and its checksum verified.
    throw badInput(`${at('location')} ${location} needs the CDS objectKey and the verified sha256`, 'location');
  }
  if (location === RecordingLocation.CDS_WITH_LOCAL_COPY && !localCopyExpiresAt) {
    throw badInput(`${at('localCopyExpiresAt')} is required for CDS_WITH_LOCAL_COPY`, 'localCopyExpiresAt');
  }
  return em.create(Recording, {
    id: randomUUID(),
    pbxId,
    callId: optionalText(r.callId, 'callId') ?? '',
    startedAt: r.startedAt,
    durationSeconds: r.durationSeconds,
    sizeBytes: r.sizeBytes,
    caller: optionalText(r.caller, 'caller'),
    callee: optionalText(r.callee, 'callee'),
    location,
    localCopyExpiresAt: location === RecordingLocation.LOCAL ? null : localCopyExpiresAt,
    sha256,
    objectKey,
    sourcePath: normalizeSourcePath(r.sourcePath),
    sourcePathHash: null,
    migrationId: optionalText(r.migrationId, 'migrationId', 64),
    createdAt: now,
  });
}
