import fs from 'node:fs';
import path from 'node:path';

/** The client contract's operation documents, read from ../shared/contract/operations. */
export const CONTRACT_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'contract', 'operations');

export function contractDocument(file: string): string {
  return fs.readFileSync(path.join(CONTRACT_DIR, file), 'utf8');
}

/** One named operation out of a contract file (files may hold several), with the fragments it needs. */
export function contractOperation(file: string, name: string): string {
  const source = contractDocument(file);
  const blocks = source.split(/\n(?=(?:query|mutation|subscription|fragment)\s)/);
  const block = blocks.find((b) => new RegExp(`^(query|mutation|subscription)\\s+${name}\\b`).test(b.trim()));
  if (!block) throw new Error(`${file} has no operation ${name}`);
  return block;
}

/** The provisioning mutations of the contract, ready to send. */
export const provisioning = {
  createCustomer: () => contractOperation('Provisioning.graphql', 'CreateCustomer'),
  createNetwork: () => contractOperation('Provisioning.graphql', 'CreateNetwork'),
  registerPbx: () => contractOperation('Provisioning.graphql', 'RegisterPbx'),
  setLegacyLicenses: () => contractOperation('Provisioning.graphql', 'SetLegacyStorageLicenses'),
  addStaticIpPool: () => contractOperation('Provisioning.graphql', 'AddStaticIpPool'),
};

/** A recording as the contract's Recordings operation (Recordings.graphql) selects it. */
export interface RecordingNode {
  id: string;
  callId: string;
  startedAt: string;
  durationSeconds: number;
  sizeBytes: number;
  caller: string | null;
  callee: string | null;
  location: string;
  localCopyExpiresAt: string | null;
  sha256: string | null;
}
