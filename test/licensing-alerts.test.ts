import { EventPayloads } from '../kernel/events/catalog';
import { OutboxEvent } from '../kernel/events/outbox';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { contractOperation } from './support/operations';
import { startTestStack, TestStack } from './support/harness';

const GB = 1_000_000_000;

interface Storage {
  usedBytes: number;
  capacityBytes: number;
  usageRatio: number;
  alertActive: boolean;
  alertRaisedAt: string | null;
}
type Raised = EventPayloads['StorageUsageAlertRaised'];

/**
 * The usage alert (DOMAIN.md rule 10): raised once when a holder's usage
 * reaches 95% of its capacity, again only after it fell below; visible on the
 * holder's storage and published as StorageUsageAlertRaised through the outbox.
 * Evaluated on usage figures, bundle changes and PBXs changing holder.
 */
describe('storage usage alert', () => {
  let stack: TestStack;
  const net = 'al-net';
  const [a, b] = [serial(1, 'e7'), serial(2, 'e7')];
  const standalone = serial(1, 'e8');
  let revision = 1000;

  const announce = async (pbxId: string, usedBytes: number) => {
    const storage = stack.subgraphs.storage.runtime;
    revision++;
    await storage.transact((em) => storage.emit(em, 'CdsUsageChanged', pbxId, { pbxId, usedBytes, revision }));
    await stack.settle();
  };
  const STORAGE = 'usedBytes capacityBytes usageRatio alertActive alertRaisedAt';
  const networkStorage = async (id: string) =>
    (await stack.ok<{ network: { storage: Storage } }>(`query ($id: ID!) { network(id: $id) { storage { ${STORAGE} } } }`, { id })).network
      .storage;
  const pbxStorage = async (id: string) =>
    (await stack.ok<{ pbx: { holderStorage: Storage } }>(`query ($id: ID!) { pbx(id: $id) { holderStorage { ${STORAGE} } } }`, { id })).pbx
      .holderStorage;
  /** What licensing published (its outbox), for one holder. */
  const raised = async (holderId: string): Promise<Raised[]> => {
    await stack.subgraphs.licensing.runtime.relay.flush();
    const rows = await stack.subgraphs.licensing.runtime.db
      .getRepository(OutboxEvent)
      .find({ where: { type: 'StorageUsageAlertRaised' }, order: { seq: 'ASC' } });
    // Committed with the change that raised it, then sent on by the relay.
    expect(rows.filter((row) => row.publishedAt === null)).toEqual([]);
    return rows.map((row) => (JSON.parse(row.payload) as { payload: Raised }).payload).filter((p) => p.holderId === holderId);
  };
  const order = (vars: { networkId?: string; pbxId?: string; code: string }) =>
    stack.ok(contractOperation('Licensing.graphql', 'OrderBundle'), vars);
  const moveTo = async (pbxId: string, networkId: string | null) => {
    await stack.ok(`mutation ($pbxId: ID!, $networkId: ID) { assignPbxToNetwork(pbxId: $pbxId, networkId: $networkId) { pbx { id } } }`, {
      pbxId,
      networkId,
    });
    await stack.settle();
  };

  beforeAll(async () => {
    // This file reads licensing's outbox as the record of what it sent: the relay's
    // pruning of acknowledged rows (docs/events.md) stays off while it runs.
    stack = await startTestStack({ env: { EVENT_MAINTENANCE_MS: String(3_600_000) } });
    await createCustomer(stack, 'al-co');
    await createNetwork(stack, 'al-co', net);
    await registerPbx(stack, { id: a, customerId: 'al-co', networkId: net });
    await registerPbx(stack, { id: b, customerId: 'al-co', networkId: net });
    await registerPbx(stack, { id: standalone, customerId: 'al-co' });
    await stack.settle();
  }, 120_000);
  afterAll(() => stack?.stop());

  test('below 95% of the capacity nothing is raised', async () => {
    await announce(a, 4 * GB);
    expect(await networkStorage(net)).toEqual({
      usedBytes: 4 * GB,
      capacityBytes: 5 * GB,
      usageRatio: 0.8,
      alertActive: false,
      alertRaisedAt: null,
    });
    expect(await raised(net)).toEqual([]);
  });

  test('reaching 95% raises the alert once, on the storage and as an event', async () => {
    const before = Date.now();
    await announce(b, 0.75 * GB); // 4.75 of 5 GB: exactly 95%
    const storage = await networkStorage(net);
    expect(storage).toMatchObject({ usedBytes: 4.75 * GB, usageRatio: 0.95, alertActive: true });
    expect(Date.parse(storage.alertRaisedAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(await raised(net)).toEqual([
      {
        holderType: 'NETWORK',
        holderId: net,
        customerId: 'al-co',
        usedBytes: 4.75 * GB,
        capacityBytes: 5 * GB,
        usageRatio: 0.95,
        raisedAt: storage.alertRaisedAt,
      },
    ]);
    // The network's PBXs see their holder's alert.
    expect(await pbxStorage(a)).toEqual(storage);
  });

  test('staying above raises nothing new', async () => {
    const { alertRaisedAt } = await networkStorage(net);
    await announce(a, 4.2 * GB);
    await announce(b, 0.7 * GB);
    expect(await networkStorage(net)).toMatchObject({ usedBytes: 4.9 * GB, alertActive: true, alertRaisedAt });
    expect(await raised(net)).toHaveLength(1);
  });

  test('falling below clears it; crossing again raises it again', async () => {
    await announce(a, 1 * GB);
    expect(await networkStorage(net)).toMatchObject({ usedBytes: 1.7 * GB, alertActive: false, alertRaisedAt: null });
    await announce(a, 3 * GB);
    expect((await networkStorage(net)).alertActive).toBe(false);
    expect(await raised(net)).toHaveLength(1);
    await announce(a, 4.8 * GB);
    expect(await networkStorage(net)).toMatchObject({ usedBytes: 5.5 * GB, usageRatio: 1.1, alertActive: true });
    const events = await raised(net);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ usedBytes: 5.5 * GB, capacityBytes: 5 * GB, usageRatio: 1.1 });
  });

  test('a larger bundle clears the alert; a smaller one can raise it', async () => {
    await order({ networkId: net, code: 'CDS-50' });
    expect(await networkStorage(net)).toMatchObject({ capacityBytes: 50 * GB, alertActive: false });

    await order({ pbxId: standalone, code: 'CDS-50' });
    await announce(standalone, 9.7 * GB);
    expect(await pbxStorage(standalone)).toMatchObject({ usedBytes: 9.7 * GB, capacityBytes: 50 * GB, alertActive: false });
    await order({ pbxId: standalone, code: 'CDS-10' });
    expect(await pbxStorage(standalone)).toMatchObject({ capacityBytes: 10 * GB, usageRatio: 0.97, alertActive: true });
    expect(await raised(standalone)).toEqual([
      expect.objectContaining({
        holderType: 'PBX',
        holderId: standalone,
        customerId: 'al-co',
        usedBytes: 9.7 * GB,
        capacityBytes: 10 * GB,
      }),
    ]);
    expect(await raised(net)).toHaveLength(2);
  });

  test('a PBX changing holder moves its usage: the holder it joins may cross, the one it left is cleared', async () => {
    await createNetwork(stack, 'al-co', 'al-small');
    const member = serial(1, 'e9');
    await registerPbx(stack, { id: member, customerId: 'al-co', networkId: 'al-small' });
    await stack.settle();
    await announce(member, 0.5 * GB);
    expect((await networkStorage('al-small')).alertActive).toBe(false);

    // The standalone PBX (9.7 GB, alert raised on its own CDS-10) joins a DEFAULT network of 5 GB.
    await moveTo(standalone, 'al-small');
    expect(await networkStorage('al-small')).toMatchObject({ usedBytes: 10.2 * GB, capacityBytes: 5 * GB, alertActive: true });
    expect(await raised('al-small')).toHaveLength(1);
    expect(await pbxStorage(standalone)).toMatchObject({ capacityBytes: 5 * GB, alertActive: true });

    // It leaves again: the network falls below and clears; back on its own CDS-10 it crosses again.
    await moveTo(standalone, null);
    expect(await networkStorage('al-small')).toMatchObject({ usedBytes: 0.5 * GB, alertActive: false });
    expect(await pbxStorage(standalone)).toMatchObject({ capacityBytes: 10 * GB, alertActive: true });
    expect(await raised(standalone)).toHaveLength(2);
  });
});
