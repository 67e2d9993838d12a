import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { RecordingLocation } from '../../kernel/domain/enums';
import { normalizeSerial } from '../../kernel/domain/rules';
import { Recording } from './entities/recording';
import { insertRecordingRows } from './recordings';
import { localCopyExpiry } from './rules';

export interface SeedRecordingsOptions {
  /** the newest call starts shortly before this (default: now) */
  now?: Date;
  /** how many days back the calls spread (default 90) */
  days?: number;
  /**
   * When the PBX was migrated to CDS: calls before it are in CDS with a local
   * copy until migratedAt + 7 days (reading as CDS once that passed); calls
   * after it are LOCAL. Without it every recording is LOCAL (not migrated).
   */
  migratedAt?: Date | null;
  /** the storage subgraph's migration id for migrated recordings */
  migrationId?: string | null;
  /** varies the data between runs; the same seed gives the same calls */
  seed?: number;
  /** rows per transaction (default 5000) */
  batchSize?: number;
}

/** mulberry32: small, fast and deterministic, so a demo dataset (or a benchmark's) is reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hashSeed = (text: string) => createHash('sha256').update(text).digest().readUInt32BE(0);

/**
 * Inserts `count` plausible recordings for one PBX (demo data, benchmarks):
 * calls spread over the last `days`, mostly in office hours, 5 s to about an
 * hour, 8 kHz 16-bit mono WAV sizes, extensions calling each other and
 * outside numbers. Each has a distinct sourcePath, so seeding the same PBX
 * again with the same options (`now` included) adds nothing. Returns how many rows it offered.
 */
export async function seedRecordings(
  db: DataSource | EntityManager,
  pbxId: string,
  count: number,
  options: SeedRecordingsOptions = {},
): Promise<number> {
  const serial = normalizeSerial(pbxId);
  const now = options.now ?? new Date();
  const days = options.days ?? 90;
  const batchSize = options.batchSize ?? 5000;
  const next = random(hashSeed(`${serial}:${options.seed ?? 1}`));
  const expires = options.migratedAt ? localCopyExpiry(options.migratedAt) : null;
  const spanMs = days * 24 * 3600 * 1000;
  const extension = () => String(200 + Math.floor(next() * 80));
  const outside = () => `+39${Math.floor(3_000_000_000 + next() * 999_999_999)}`;

  const rows: Recording[] = [];
  for (let i = 0; i < count; i++) {
    // Evenly spread with jitter, then pulled into office hours (08:00-18:59 UTC) on most calls.
    const base = new Date(now.getTime() - 60_000 - Math.floor(((i + next()) / Math.max(count, 1)) * spanMs));
    if (next() < 0.85)
      base.setUTCHours(8 + Math.floor(next() * 11), Math.floor(next() * 60), Math.floor(next() * 60), Math.floor(next() * 1000));
    const startedAt = base.getTime() > now.getTime() ? new Date(now.getTime() - 1000 - i) : base;
    const durationSeconds = Math.max(5, Math.round(Math.exp(3 + next() * 5.2)));
    const inbound = next() < 0.5;
    const internal = next() < 0.2;
    const callId = `${serial}-${startedAt.getTime().toString(36)}-${i.toString(36)}`;
    const day = startedAt.toISOString().slice(0, 10).replace(/-/g, '/');
    const sourcePath = `recordings/${day}/seed-${options.seed ?? 1}-${i}.wav`;
    const migrated = options.migratedAt !== undefined && options.migratedAt !== null && startedAt.getTime() < options.migratedAt.getTime();
    rows.push({
      id: randomUUID(),
      pbxId: serial,
      callId,
      startedAt,
      durationSeconds,
      sizeBytes: 44 + durationSeconds * 16_000,
      caller: internal || !inbound ? extension() : outside(),
      callee: internal || inbound ? extension() : outside(),
      location: migrated ? RecordingLocation.CDS_WITH_LOCAL_COPY : RecordingLocation.LOCAL,
      localCopyExpiresAt: migrated ? expires : null,
      // Not the hash of a real file: the demo has no files, only plausible metadata.
      sha256: migrated ? createHash('sha256').update(callId).digest('hex') : null,
      objectKey: migrated ? `${serial}/${sourcePath}` : null,
      sourcePath,
      sourcePathHash: null,
      migrationId: migrated ? (options.migrationId ?? null) : null,
      createdAt: now,
    });
    if (rows.length >= batchSize || i === count - 1) {
      const batch = rows.splice(0);
      await (db instanceof DataSource ? db.transaction((em) => insertRecordingRows(em, batch)) : insertRecordingRows(db, batch));
    }
  }
  return count;
}
