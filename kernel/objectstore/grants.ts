import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Upload grants: what the storage subgraph hands the CDS agent so it can put
 * one object into its region's store without holding any store credential.
 *
 * A grant names everything the server decided: the object key (under the
 * PBX's own prefix, derived from the item), the region whose store takes it,
 * the size and SHA-256 the agent declared, who may use it (the caller's `sub`
 * and PBX), the migration and when it expires. It is signed with HMAC-SHA256
 * under a key derived from UPLOAD_GRANT_SECRET (else JWT_SECRET), so the
 * gateway's upload endpoint (gateway/uploads.ts) can check it without a
 * database, and nothing a client changes in it survives the check. The
 * derivation keeps it apart from JWTs and playback links made with the same
 * secret. For S3 stores the grant travels with a presigned request instead
 * (kernel/objectstore/s3-store.ts); the same token then completes a
 * multipart upload.
 *
 * Pure (no I/O): the storage subgraph signs, the gateway checks.
 */

export interface UploadGrantClaims {
  /** unique per grant: single use is tracked by it */
  id: string;
  pbxId: string;
  /** the `sub` of the token the grant was issued to; only that caller may use it */
  sub: string;
  migrationId: string;
  region: string;
  key: string;
  sizeBytes: number;
  sha256: string;
  /** Unix seconds */
  expiresAt: number;
  /** S3 multipart upload id, when the grant is for one */
  uploadId?: string;
}

const GRANT_LABEL = 'cds-graph/upload-grant/v1';

/**
 * Signed claims: base64url JSON, a dot, and an HMAC-SHA256 of it under a key
 * derived from the secret and a label, so tokens of one kind (grants, store
 * receipts) never pass as another's. Hand-written rather than a JWT: there is
 * no header to choose an algorithm, nothing to negotiate, and the gateway
 * checks hundreds per request without a library's per-token overhead.
 */
export function signClaims(secret: string, label: string, claims: object): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${createHmac('sha256', keyOf(secret, label)).update(body).digest('base64url')}`;
}

/** The claims of a token `signClaims` made with the same secret and label; 'malformed' or 'forged' otherwise. */
export function readClaims<T>(secret: string, label: string, token: string): T | 'malformed' | 'forged' {
  const dot = typeof token === 'string' ? token.indexOf('.') : -1;
  if (dot <= 0 || token.length > 8192) return 'malformed';
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = createHmac('sha256', keyOf(secret, label)).update(body).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
  } catch {
    return 'malformed';
  }
}

const keyOf = (secret: string, label: string) => createHmac('sha256', secret).update(label).digest();

/** The secret grants are signed with, from settings: UPLOAD_GRANT_SECRET, else JWT_SECRET; null when neither is set. */
export function uploadGrantSecretFrom(settings: Readonly<Record<string, string | undefined>>): string | null {
  return settings.UPLOAD_GRANT_SECRET || settings.JWT_SECRET || null;
}

export function signUploadGrant(secret: string, claims: UploadGrantClaims): string {
  return signClaims(secret, GRANT_LABEL, claims);
}

export type UploadGrantCheck = { ok: true; claims: UploadGrantClaims } | { ok: false; status: 400 | 403; reason: string };

/** Checks a grant's signature and expiry; `now` in Unix seconds. */
export function verifyUploadGrant(secret: string, token: string, now = Math.floor(Date.now() / 1000)): UploadGrantCheck {
  const claims = readClaims<UploadGrantClaims>(secret, GRANT_LABEL, token);
  if (claims === 'malformed') return { ok: false, status: 400, reason: 'The upload grant is malformed' };
  if (claims === 'forged') {
    return { ok: false, status: 403, reason: 'The upload grant is not valid (its signature does not match): ask CDS for a new one' };
  }
  if (!Number.isSafeInteger(claims.expiresAt) || claims.expiresAt <= now) {
    return {
      ok: false,
      status: 403,
      reason: `The upload grant for ${claims.key ?? 'an object'} expired at ${new Date((claims.expiresAt ?? 0) * 1000).toISOString()}: ask CDS for a new one`,
    };
  }
  return { ok: true, claims };
}

/** Where the gateway receives uploads for directory stores. */
export const UPLOAD_PATH = '/api/v1/cds/uploads';

/**
 * Single use, per process: a grant id seen once is refused again until the
 * grant would have expired anyway. Across gateway instances the store's
 * exclusive placement of the (content-addressed) key does the same.
 */
export class UsedGrants {
  private readonly used = new Map<string, number>();

  /** Marks `id` used; false when it already was. */
  take(id: string, expiresAt: number, now = Math.floor(Date.now() / 1000)): boolean {
    if (this.used.size > 50_000) for (const [k, exp] of this.used) if (exp <= now) this.used.delete(k);
    if (this.used.has(id)) return false;
    this.used.set(id, expiresAt);
    return true;
  }

  /** Gives a grant back when its upload failed before anything was stored, so a retry may use it. */
  release(id: string): void {
    this.used.delete(id);
  }
}
