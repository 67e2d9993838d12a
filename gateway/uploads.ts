import { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../kernel/errors';
import { sendJson, Route } from '../kernel/http';
import { Identity, TokenVerifier } from '../kernel/identity';
import { DirectoryStore, ReceivedObjectMismatch } from '../kernel/objectstore/directory-store';
import { UPLOAD_PATH, UploadGrantClaims, UsedGrants, verifyUploadGrant } from '../kernel/objectstore/grants';
import { signStoreReceipt } from '../kernel/objectstore/receipts';
import { ObjectStore } from '../kernel/objectstore/store';
import { httpStatusOf } from './rest-recordings';

/**
 * The upload endpoint of directory stores: `POST /api/v1/cds/uploads` on the
 * gateway's port. The CDS agent never sees the store: it sends bytes here
 * with its own token and the grants the storage subgraph gave it
 * (kernel/objectstore/grants.ts), and this route writes them into the
 * directory of the grant's region.
 *
 * One request carries one or many objects (small recordings go a few
 * hundred at a time, so a migration of 10,000 costs tens of requests):
 *
 *   u32 (big-endian)  length of the manifest
 *   manifest          JSON {"grants": ["<grant>", ...]}
 *   bytes             each grant's object, in order, exactly its declared size
 *
 * In order, before any work: the caller's token (401), the caller's rate
 * limit (429, the same bucket as its GraphQL operations), each grant's
 * signature and holder (403: a grant is only good for the caller it was
 * issued to), the body's length against the declared sizes (413 when larger,
 * 400 when smaller). Then each object is hashed as it arrives and placed only
 * when it is exactly the declared size and SHA-256. Per object the answer says
 * STORED (with a store receipt: the SHA-256 this endpoint computed, bound to
 * the file it placed, which the report presents instead of CDS reading the
 * object back), ALREADY_STORED (its content-addressed key already holds an object),
 * or why it was refused: EXPIRED, REUSED (a grant stores its object once), MISMATCH
 * (nothing stored; the grant stays good for the right bytes).
 */

export interface UploadDeps {
  verifier: TokenVerifier;
  /** the gateway's request pipeline for this caller: limits and the one rate limit (gateway/pipeline.ts) */
  admit: (identity: Identity) => Promise<void>;
  stores: { forRegion(region: string): ObjectStore };
  /** UPLOAD_GRANT_SECRET (else JWT_SECRET), as the storage subgraph signs with; null refuses every upload */
  grantSecret: string | null;
}

export type UploadOutcome = 'STORED' | 'ALREADY_STORED' | 'EXPIRED' | 'REUSED' | 'MISMATCH' | 'NOT_A_GATEWAY_UPLOAD';

export interface UploadResult {
  objectKey: string;
  status: UploadOutcome;
  reason?: string;
  /** STORED: the store receipt the report presents (kernel/objectstore/receipts.ts), so CDS need not read the object back */
  receipt?: string;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_GRANTS_PER_REQUEST = 1000;
/** Objects of one request being made durable (fsync, place) at once. */
const COMMITS_AT_ONCE = 64;
/** What a refusal of one object answers for the whole request, when it is the first. */
const OUTCOME_STATUS: Partial<Record<UploadOutcome, number>> = { EXPIRED: 403, REUSED: 409, MISMATCH: 400, NOT_A_GATEWAY_UPLOAD: 400 };

function refuse(res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): true {
  sendJson(res, status, { type: 'error', reason }, { 'cache-control': 'no-store', connection: 'close', ...headers });
  return true;
}

export function uploadRoute(deps: UploadDeps): Route {
  const used = new UsedGrants();
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname !== UPLOAD_PATH) return false;
    if (req.method !== 'POST')
      return refuse(res, 405, `${req.method} is not supported here; POST the objects of your upload grants`, { allow: 'POST' });
    let identity: Identity;
    try {
      identity = await deps.verifier.verify(req.headers.authorization);
      await deps.admit(identity);
    } catch (error) {
      if (error instanceof DomainError)
        return refuse(res, httpStatusOf(error.code), error.message, error.code === 'RATE_LIMITED' ? { 'retry-after': '2' } : {});
      throw error;
    }
    const secret = deps.grantSecret;
    if (!secret) return refuse(res, 503, 'Uploads into CDS are not configured here (no UPLOAD_GRANT_SECRET)');
    const declaredLength = Number(req.headers['content-length']);
    if (!req.headers['content-length'] || !Number.isSafeInteger(declaredLength)) {
      return refuse(res, 411, 'Send Content-Length: the body is the manifest and exactly the declared bytes of each object');
    }

    const body = new ByteReader(req);
    let grants: UploadGrantClaims[];
    const expired = new Set<number>();
    try {
      const manifestLength = (await body.exactly(4)).readUInt32BE(0);
      if (manifestLength === 0 || manifestLength > MAX_MANIFEST_BYTES)
        return refuse(res, 400, `The manifest must be 1 to ${MAX_MANIFEST_BYTES} bytes`);
      let tokens: unknown;
      try {
        tokens = (JSON.parse((await body.exactly(manifestLength)).toString('utf8')) as { grants?: unknown }).grants;
      } catch {
        return refuse(res, 400, 'The manifest is not JSON of the form {"grants": ["<grant>", ...]}');
      }
      if (
        !Array.isArray(tokens) ||
        !tokens.length ||
        tokens.length > MAX_GRANTS_PER_REQUEST ||
        !tokens.every((t) => typeof t === 'string')
      ) {
        return refuse(res, 400, `The manifest must list 1 to ${MAX_GRANTS_PER_REQUEST} grants`);
      }
      grants = [];
      for (const [index, token] of (tokens as string[]).entries()) {
        // Checked with no expiry first: an expired grant still frames its bytes, which are skipped.
        const check = verifyUploadGrant(secret, token, 0);
        if (!check.ok) return refuse(res, check.status, `Grant ${index + 1}: ${check.reason}`);
        const claims = check.claims;
        if (claims.sub !== identity.sub || (identity.role === 'pbx' && claims.pbxId !== identity.pbx)) {
          return refuse(res, 403, `Grant ${index + 1} (${claims.key}) was issued to another caller; ask CDS for your own grants`);
        }
        if (!verifyUploadGrant(secret, token).ok) expired.add(index);
        grants.push(claims);
      }
      const expected = 4 + manifestLength + grants.reduce((n, g) => n + g.sizeBytes, 0);
      if (declaredLength > expected) {
        return refuse(
          res,
          413,
          `The body is ${declaredLength} bytes; the grants declare ${expected} (manifest included): more than declared is never stored`,
        );
      }
      if (declaredLength < expected)
        return refuse(res, 400, `The body is ${declaredLength} bytes; the grants declare ${expected} (manifest included)`);
    } catch (error) {
      if (error instanceof BodyEnded) return refuse(res, 400, 'The body ended before the manifest did');
      throw error;
    }

    const results: UploadResult[] = [];
    const committing = new Set<Promise<void>>();
    let failure: unknown = null;
    try {
      for (const [index, grant] of grants.entries()) {
        const bytes = body.take(grant.sizeBytes);
        const skip = async (status: UploadOutcome, reason: string) => {
          for await (const _ of bytes); // the object's bytes are read past, not stored
          results.push({ objectKey: grant.key, status, reason });
        };
        if (expired.has(index)) {
          await skip('EXPIRED', `The grant expired at ${new Date(grant.expiresAt * 1000).toISOString()}: ask CDS for a new one`);
          continue;
        }
        const store = deps.stores.forRegion(grant.region);
        if (!(store instanceof DirectoryStore)) {
          await skip(
            'NOT_A_GATEWAY_UPLOAD',
            `Region ${grant.region} keeps CDS in ${store.location}: upload with the presigned request of a new grant`,
          );
          continue;
        }
        if (!used.take(grant.id, grant.expiresAt)) {
          await skip('REUSED', 'This grant was already used (grants are single-use): ask CDS for a new one');
          continue;
        }
        const slot = results.length;
        results.push({ objectKey: grant.key, status: 'MISMATCH' });
        try {
          const staged = await store.stage(grant.key, bytes, { sizeBytes: grant.sizeBytes, sha256: grant.sha256 });
          // Made durable while the next object is read: fsyncs of many small objects overlap instead of queueing.
          if (committing.size >= COMMITS_AT_ONCE) await Promise.race(committing);
          const commit: Promise<void> = staged
            .commit()
            .then(
              (placed) => {
                results[slot] =
                  placed.outcome === 'stored' && placed.version
                    ? {
                        objectKey: grant.key,
                        status: 'STORED',
                        receipt: signStoreReceipt(secret, {
                          region: grant.region,
                          key: grant.key,
                          sizeBytes: grant.sizeBytes,
                          sha256: grant.sha256,
                          version: placed.version,
                        }),
                      }
                    : { objectKey: grant.key, status: placed.outcome === 'stored' ? 'STORED' : 'ALREADY_STORED' };
              },
              (error: unknown) => {
                used.release(grant.id);
                failure ??= error;
              },
            )
            .finally(() => committing.delete(commit));
          committing.add(commit);
        } catch (error) {
          used.release(grant.id); // nothing was stored: the same grant may try again
          if (!(error instanceof ReceivedObjectMismatch)) throw error;
          for await (const _ of bytes);
          results[slot] = { objectKey: grant.key, status: 'MISMATCH', reason: `${error.message}; nothing was stored` };
        }
      }
      await Promise.all(committing);
      if (failure) throw failure;
    } catch (error) {
      await Promise.all(committing);
      if (error instanceof BodyEnded)
        return refuse(res, 400, 'The body ended before the declared bytes did; what arrived completely was stored');
      throw error;
    }
    const refused = results.find((r) => OUTCOME_STATUS[r.status]);
    sendJson(res, refused ? OUTCOME_STATUS[refused.status]! : 200, { results }, { 'cache-control': 'no-store' });
    return true;
  };
}

class BodyEnded extends Error {}

/** Reads a request body in pieces of known length, without holding more than one chunk. */
class ByteReader {
  private readonly source: AsyncIterator<Buffer>;
  private leftover: Buffer | null = null;

  constructor(stream: AsyncIterable<Buffer>) {
    this.source = stream[Symbol.asyncIterator]();
  }

  private async next(): Promise<Buffer> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = null;
      return chunk;
    }
    const { value, done } = await this.source.next();
    if (done) throw new BodyEnded();
    return value as Buffer;
  }

  async exactly(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.take(n)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** The next `n` bytes, chunk by chunk; the rest of a chunk stays for the next read. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const chunk = await this.next();
      if (chunk.length > left) {
        this.leftover = chunk.subarray(left);
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  }
}
