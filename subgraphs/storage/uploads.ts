import { randomUUID } from 'node:crypto';
import { In } from 'typeorm';
import { DataCategory } from '../../kernel/domain/enums';
import { badInput, conflict, DomainError, forbidden } from '../../kernel/errors';
import { limiter, mapLimited } from '../../kernel/map-limited';
import { budget, SharedWork, STILL_UNDER_WAY, within } from '../../kernel/shared-work';
import { DirectoryStore } from '../../kernel/objectstore/directory-store';
import { signUploadGrant, UPLOAD_PATH, uploadGrantSecretFrom, UploadGrantClaims, verifyUploadGrant } from '../../kernel/objectstore/grants';
import { receiptFor } from '../../kernel/objectstore/receipts';
import { S3Store } from '../../kernel/objectstore/s3-store';
import { Inspection, objectKeyFor, ObjectStore, sourcePathHash, StoredObject } from '../../kernel/objectstore/store';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { CdsObject } from './entities/cds-object';
import { Migration } from './entities/migration';
import { StorageLoaders } from './loaders';
import { checkDeclaredItem, DeclaredItem } from './object-checks';

/** The CDS stores by region (kernel/objectstore RegionStores satisfies this). */
export interface CdsRegions {
  has(region: string): boolean;
  regions(): string[];
  forRegion(region: string): ObjectStore;
}

export type UploadTransport = 'CDS_GATEWAY' | 'S3_PUT' | 'S3_MULTIPART';

export interface HttpHeaderValue {
  name: string;
  value: string;
}

export interface UploadPartGrant {
  partNumber: number;
  offset: number;
  sizeBytes: number;
  url: string;
  headers: HttpHeaderValue[];
}

export interface UploadGrantView extends DeclaredItem {
  objectKey: string;
  transport: UploadTransport;
  token: string;
  url: string | null;
  headers: HttpHeaderValue[];
  parts: UploadPartGrant[];
  expiresAt: Date;
}

/**
 * A report named objects CDS is still reading back (large ones, from a store
 * that keeps no checksum of its own): nothing of the report counted yet, the
 * reads go on, and the same report sent again finds their results.
 */
export class StillVerifying extends DomainError {
  constructor(readonly sourcePaths: string[]) {
    super(
      'CONFLICT',
      `CDS is still verifying ${sourcePaths.length} reported object${sourcePaths.length === 1 ? '' : 's'} (reading ${sourcePaths.length === 1 ? 'it' : 'them'} back from the store), e.g. ${sourcePaths[0]}; ` +
        'nothing of this report was counted yet: send it again shortly',
      { verifying: sourcePaths },
    );
  }
}

export interface CopyCheck {
  sourcePath: string;
  objectKey: string | null;
  sizeBytes: number;
  sha256: string | null;
  verified: boolean;
  reason: string | null;
}

/** Items per grant request, and per purge check: one round trip covers a report's batch. */
export const MAX_GRANTS_PER_CALL = 1000;
/** Store reads of reported objects at once, in this process. */
const INSPECTIONS_AT_ONCE = 32;
/** The result of long store work waits this long for the request sent again that takes it. */
const KEPT_MS = 10 * 60 * 1000;
/** Objects verified at once: small files are file-system calls, large ones reads; both want a few in flight. */
const VERIFY_CONCURRENCY = 16;
const h = (headers: Record<string, string>): HttpHeaderValue[] => Object.entries(headers).map(([name, value]) => ({ name, value }));

/**
 * The data path of a migration, server side (issue 9): CDS chooses every
 * object's key and hands out short-lived upload grants for the store of the
 * PBX's region; it verifies every stored object itself before anything
 * counts (DOMAIN rule 5), and it confirms CDS copies before an agent purges.
 * The agent holds nothing but its PBX token.
 */
export class UploadService {
  private readonly secret: string | null;
  /** Store reads of reported objects (at most INSPECTIONS_AT_ONCE at once): past a report's wait they go on for the report sent again. */
  private readonly inspections = new SharedWork<Inspection>(KEPT_MS, limiter(INSPECTIONS_AT_ONCE));
  /** Multipart uploads being assembled by the store, by upload id, for the completion asked again. */
  private readonly completions = new SharedWork<void>(KEPT_MS);

  constructor(
    private readonly runtime: SubgraphRuntime,
    private readonly stores: CdsRegions,
    /** how long a grant is good for, at least; large files get more time on top (1 s per MB) */
    private readonly grantSeconds: number,
    /** files from this size on go up to S3 in presigned parts of this size (UPLOAD_MULTIPART_MIN_BYTES) */
    private readonly multipartMinBytes: number,
    /** how long a report or a multipart completion waits for the store before it answers that the work is still under way (CDS_STORE_WAIT_MS) */
    private readonly storeWaitMs: number,
  ) {
    this.secret = uploadGrantSecretFrom(runtime.settings);
  }

  storeOf(region: string): ObjectStore {
    return this.stores.forRegion(region);
  }

  /** Grants for a batch of items of a migration the caller's run holds. */
  async grants(loaders: StorageLoaders, migration: Migration, pbxId: string, items: DeclaredItem[]): Promise<UploadGrantView[]> {
    if (items.length > MAX_GRANTS_PER_CALL)
      throw badInput(`At most ${MAX_GRANTS_PER_CALL} items per grant request (got ${items.length})`, 'items');
    const checked = items.map((item) => checkDeclaredItem(item));
    const store = this.storeOf(migration.region);
    const sub = loaders.scope.identity.sub;
    const now = Math.floor(Date.now() / 1000);
    return mapLimited(checked, VERIFY_CONCURRENCY, async (item) => {
      const objectKey = objectKeyFor(pbxId, item.category, item.sourcePath, item.sha256);
      const seconds = this.grantSeconds + Math.ceil(item.sizeBytes / 1e6);
      const claims: UploadGrantClaims = {
        id: randomUUID(),
        pbxId,
        sub,
        migrationId: migration.id,
        region: migration.region,
        key: objectKey,
        sizeBytes: item.sizeBytes,
        sha256: item.sha256,
        expiresAt: now + seconds,
      };
      const expiresAt = new Date(claims.expiresAt * 1000);
      const base = { ...item, objectKey, expiresAt };
      if (store instanceof S3Store) {
        if (item.sizeBytes < this.multipartMinBytes) {
          const put = await store.presignPut(objectKey, item, seconds);
          return { ...base, transport: 'S3_PUT', token: this.sign(claims), url: put.url, headers: h(put.headers), parts: [] };
        }
        const { uploadId, parts } = await store.createMultipart(objectKey, item.sizeBytes, this.multipartMinBytes);
        const presigned = await Promise.all(
          parts.map(async (part) => {
            const request = await store.presignPart(objectKey, uploadId, part.partNumber, part.sizeBytes, seconds);
            return { ...part, url: request.url, headers: h(request.headers) };
          }),
        );
        return { ...base, transport: 'S3_MULTIPART', token: this.sign({ ...claims, uploadId }), url: null, headers: [], parts: presigned };
      }
      if (store instanceof DirectoryStore) {
        return { ...base, transport: 'CDS_GATEWAY', token: this.sign(claims), url: UPLOAD_PATH, headers: [], parts: [] };
      }
      throw conflict(`The CDS store of region ${migration.region} (${store.location}) takes no uploads`);
    });
  }

  /** The server completes a multipart upload it started, for the caller the grant was issued to. */
  async completeMultipart(
    loaders: StorageLoaders,
    migration: Migration,
    token: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<string> {
    const claims = this.grantOf(loaders, migration, token);
    if (!claims.uploadId) throw badInput('This grant is not for a multipart upload', 'token');
    const store = this.storeOf(claims.region);
    if (!(store instanceof S3Store)) throw badInput('This grant is not for a multipart upload', 'token');
    if (!parts.length || parts.some((p) => !Number.isInteger(p.partNumber) || p.partNumber < 1 || p.partNumber > 10_000 || !p.etag)) {
      throw badInput('Name every uploaded part with its number (1 to 10000) and the ETag S3 answered', 'parts');
    }
    const uploadId = claims.uploadId;
    const completion = this.completions.begin(`${claims.region}\u0000${uploadId}`, async () => {
      try {
        await store.completeMultipart(claims.key, uploadId, parts);
      } catch (error) {
        // An answer lost on the way: a second completion finds the upload gone, and the object there.
        const present = await store.stat(claims.key).catch(() => null);
        if (present?.sizeBytes !== claims.sizeBytes) {
          throw conflict(`The multipart upload of ${claims.key} could not be completed: ${(error as Error).message}`);
        }
      }
    });
    // S3 assembles a large upload for a while (s3rver copies every part): the caller asks again meanwhile.
    if ((await within(completion, budget(this.storeWaitMs))) === STILL_UNDER_WAY) {
      throw new DomainError(
        'CONFLICT',
        `The store is still assembling the multipart upload of ${claims.key}; call completeMultipartUpload again shortly (it goes on meanwhile)`,
        { completing: claims.key },
      );
    }
    this.completions.taken(`${claims.region}\u0000${uploadId}`);
    return claims.key;
  }

  /**
   * Rule 5, by CDS itself: each reported object must be at the key CDS gives
   * that file and must hold the reported size and SHA-256, read from the store
   * (its own checksum where it keeps one: S3's, or a directory store's receipt
   * for the file as it was placed; else by reading the bytes). An
   * object already confirmed under the same key and checksum needs only to be
   * there with its size. Anything else refuses the whole report (nothing
   * counts); an object that is there but wrong is removed, so that the next
   * upload can put the right bytes under its key.
   */
  async verifyReported(
    pbxId: string,
    region: string,
    items: (DeclaredItem & { objectKey: string; receipt?: string | null })[],
  ): Promise<void> {
    const store = this.storeOf(region);
    const forged = items.filter((item) => item.objectKey !== objectKeyFor(pbxId, item.category, item.sourcePath, item.sha256));
    if (forged.length) {
      throw badInput(
        `CDS chooses object keys: '${forged[0].objectKey.slice(0, 300)}' is not the key of ${forged[0].sourcePath}` +
          ` (${forged.length} item${forged.length === 1 ? '' : 's'} of this report name a key CDS did not give); nothing was counted`,
        'items',
      );
    }
    const known = await this.knownObjects(pbxId, items);
    const failures: { sourcePath: string; why: string }[] = [];
    const counted = this.runtime.metrics.counter(
      'cds_object_verifications_total',
      'Reported objects CDS checked, by how: known (verified before, still there), receipt (the checksum the upload endpoint computed, same file version), store (the checksum the store keeps, else reading the bytes; objects found missing or wrong included)',
      ['by'],
    );
    const verifying: string[] = [];
    const waitOver = budget(this.storeWaitMs);
    const read: string[] = [];
    await mapLimited(items, VERIFY_CONCURRENCY, async (item) => {
      const expected: StoredObject = { sizeBytes: item.sizeBytes, sha256: item.sha256 };
      const row = known.get(`${item.category}\u0000${item.sourcePath}`);
      if (row && row.objectKey === item.objectKey && row.sha256 === item.sha256 && row.sizeBytes === item.sizeBytes) {
        const present = await store.stat(item.objectKey);
        if (present?.sizeBytes === item.sizeBytes) return counted.inc({ by: 'known' });
      }
      // The store's own checksum, kept by the receipt of the upload endpoint that placed the bytes:
      // good while the file is still the very version it placed.
      if (item.receipt && this.secret && store instanceof DirectoryStore) {
        const receipt = receiptFor(this.secret, item.receipt, { region, key: item.objectKey, ...expected });
        if (receipt && (await store.version(item.objectKey)) === receipt.version) return counted.inc({ by: 'receipt' });
      }
      const id = `${region}\u0000${item.objectKey}\u0000${item.sizeBytes}\u0000${item.sha256}`;
      const found = await within(
        this.inspections.begin(id, () => store.inspect(item.objectKey, expected)),
        waitOver,
      );
      if (found === STILL_UNDER_WAY) {
        verifying.push(item.sourcePath);
        return;
      }
      if (found === 'verified') {
        // Kept until the report counts: a report sent again (another item was still being read) takes it then.
        read.push(id);
        return;
      }
      this.inspections.taken(id);
      counted.inc({ by: 'store' });
      if (found === 'missing') failures.push({ sourcePath: item.sourcePath, why: 'is not in CDS' });
      else {
        failures.push({
          sourcePath: item.sourcePath,
          why: `does not hold the reported ${item.sizeBytes} bytes with SHA-256 ${item.sha256} (removed; upload it again)`,
        });
        await store.delete(item.objectKey).catch(() => undefined);
      }
    });
    if (failures.length) {
      throw new DomainError(
        'CONFLICT',
        `${failures.length} reported object${failures.length === 1 ? '' : 's'} did not verify in CDS, so nothing of this report was counted: ` +
          failures
            .slice(0, 3)
            .map((f) => `${f.sourcePath} ${f.why}`)
            .join('; ') +
          (failures.length > 3 ? '; ...' : ''),
        { unverified: failures.map((f) => f.sourcePath) },
      );
    }
    if (verifying.length) throw new StillVerifying(verifying);
    for (const id of read) this.inspections.taken(id);
    if (read.length) counted.inc({ by: 'store' }, read.length);
  }

  /**
   * Before a purge: does each file's CDS copy still verify? Read from the
   * store now, against the size and SHA-256 CDS recorded when it counted it.
   */
  async checkCopies(pbxId: string, region: string, category: DataCategory, sourcePaths: string[]): Promise<CopyCheck[]> {
    if (sourcePaths.length > MAX_GRANTS_PER_CALL)
      throw badInput(`At most ${MAX_GRANTS_PER_CALL} paths per check (got ${sourcePaths.length})`, 'sourcePaths');
    const rows = await this.runtime.db.getRepository(CdsObject).findBy({
      pbxId,
      category,
      pathHash: In(sourcePaths.map((p) => sourcePathHash(p))),
    });
    const byPath = new Map(rows.map((r) => [r.sourcePath, r]));
    const store = this.storeOf(region);
    return mapLimited(sourcePaths, VERIFY_CONCURRENCY, async (sourcePath): Promise<CopyCheck> => {
      const row = byPath.get(sourcePath);
      if (!row)
        return {
          sourcePath,
          objectKey: null,
          sizeBytes: 0,
          sha256: null,
          verified: false,
          reason: 'CDS has no verified copy of this file',
        };
      const verified = await store.verify(row.objectKey, row).catch(() => false);
      return {
        sourcePath,
        objectKey: row.objectKey,
        sizeBytes: row.sizeBytes,
        sha256: row.sha256,
        verified,
        reason: verified ? null : 'the CDS copy is missing or no longer matches its SHA-256',
      };
    });
  }

  private async knownObjects(pbxId: string, items: DeclaredItem[]): Promise<Map<string, CdsObject>> {
    const found = new Map<string, CdsObject>();
    for (let i = 0; i < items.length; i += 500) {
      const rows = await this.runtime.db
        .getRepository(CdsObject)
        .findBy({ pbxId, pathHash: In(items.slice(i, i + 500).map((x) => sourcePathHash(x.sourcePath))) });
      for (const row of rows) found.set(`${row.category}\u0000${row.sourcePath}`, row);
    }
    return found;
  }

  private sign(claims: UploadGrantClaims): string {
    if (!this.secret)
      throw conflict(
        'Uploads into CDS are not configured: set UPLOAD_GRANT_SECRET (or JWT_SECRET) for the storage subgraph and the gateway',
      );
    return signUploadGrant(this.secret, claims);
  }

  private grantOf(loaders: StorageLoaders, migration: Migration, token: string): UploadGrantClaims {
    if (!this.secret) throw conflict('Uploads into CDS are not configured');
    const check = verifyUploadGrant(this.secret, token);
    if (!check.ok) throw check.status === 403 ? forbidden(check.reason) : badInput(check.reason, 'token');
    if (check.claims.migrationId !== migration.id || check.claims.sub !== loaders.scope.identity.sub) {
      throw forbidden('This upload grant was issued for another migration or to another caller');
    }
    return check.claims;
  }
}
