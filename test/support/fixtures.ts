import { PbxKind } from '../../kernel/domain/enums';
import { provisioning } from './operations';
import { TestStack, tokens } from './harness';

/** Serial number n as 12 hex characters, e.g. serial(1) = '000000000001' with a prefix. */
export const serial = (n: number, prefix = 'a1') => `${prefix}${n.toString(16).padStart(12 - prefix.length, '0')}`;

export async function createCustomer(stack: TestStack, id: string, name = `Customer ${id}`) {
  await stack.ok(provisioning.createCustomer(), { input: { id, name } }, tokens.admin());
}

export async function createNetwork(stack: TestStack, customerId: string, id: string, name = `Network ${id}`) {
  await stack.ok(provisioning.createNetwork(), { input: { id, name, customerId } }, tokens.admin());
}

export interface PbxSpec {
  id: string;
  customerId: string;
  networkId?: string | null;
  kind?: PbxKind;
  wmsVersion?: string;
  region?: string;
  name?: string;
}

export async function registerPbx(stack: TestStack, spec: PbxSpec) {
  await stack.ok(
    provisioning.registerPbx(),
    {
      input: {
        id: spec.id,
        name: spec.name ?? `pbx-${spec.id}.wildixin.com`,
        kind: spec.kind ?? 'CLOUD',
        wmsVersion: spec.wmsVersion ?? '6.04.20230901.1',
        region: spec.region ?? 'eu-central-1',
        customerId: spec.customerId,
        networkId: spec.networkId ?? null,
      },
    },
    tokens.admin(),
  );
}

/** A customer with one network of `count` PBXs (kinds rotating CLOUD, VIRTUAL, HARDWARE). */
export async function networkOf(stack: TestStack, customerId: string, networkId: string, count: number, serialPrefix: string) {
  await createCustomer(stack, customerId);
  await createNetwork(stack, customerId, networkId);
  const kinds: PbxKind[] = [PbxKind.CLOUD, PbxKind.VIRTUAL, PbxKind.HARDWARE];
  for (let i = 0; i < count; i++) {
    await registerPbx(stack, { id: serial(i + 1, serialPrefix), customerId, networkId, kind: kinds[i % 3] });
  }
  await stack.settle();
}
