import { readClaims, signClaims } from './grants';
import { StoredObject } from './store';

/**
 * Store receipts: what the gateway's upload endpoint answers for an object it
 * placed in a directory store. That endpoint is the directory store's writer:
 * it hashed the bytes as they arrived and placed them only when they were the
 * granted size and SHA-256, so the checksum it computed is the store's own,
 * like the SHA-256 S3 keeps with an object. The receipt records it together
 * with the version of the file it placed (DirectoryStore.version: device,
 * inode, size and change time), signed so the agent that carries it to its
 * report can change nothing in it. The storage subgraph then verifies the
 * object by a stat that finds the same version, instead of reading it back
 * (DOMAIN rule 5: "the checksum the store computed where the store keeps
 * one"); a file changed, replaced or rewritten since has another version and
 * is read and hashed as before.
 *
 * Pure (no I/O): the gateway signs, the storage subgraph checks.
 */
export interface StoreReceiptClaims extends StoredObject {
  region: string;
  key: string;
  /** DirectoryStore.version of the file as placed */
  version: string;
}

const RECEIPT_LABEL = 'cds-graph/store-receipt/v1';

export function signStoreReceipt(secret: string, claims: StoreReceiptClaims): string {
  return signClaims(secret, RECEIPT_LABEL, claims);
}

/** The receipt's claims when it is genuine and names exactly this object (region, key, size, SHA-256); null otherwise. */
export function receiptFor(
  secret: string,
  token: string,
  object: StoredObject & { region: string; key: string },
): StoreReceiptClaims | null {
  const claims = readClaims<StoreReceiptClaims>(secret, RECEIPT_LABEL, token);
  if (typeof claims !== 'object' || claims === null) return null;
  const same =
    claims.region === object.region &&
    claims.key === object.key &&
    claims.sizeBytes === object.sizeBytes &&
    typeof claims.sha256 === 'string' &&
    claims.sha256 === object.sha256.toLowerCase() &&
    typeof claims.version === 'string';
  return same ? claims : null;
}
