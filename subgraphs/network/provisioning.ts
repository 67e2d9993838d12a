import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { forUpdate, isDuplicateKeyError } from '../../kernel/database';
import { PbxSnapshot } from '../../kernel/events/catalog';
import {
  normalizeClientId,
  normalizeDisplayName,
  normalizePbxName,
  normalizeRegion,
  normalizeSerial,
  parseWmsVersion,
} from '../../kernel/domain/rules';
import { conflict, notFound } from '../../kernel/errors';
import { requireRole } from '../../kernel/identity';
import { SubgraphRuntime } from '../../kernel/subgraph';
import { Customer } from './entities/customer';
import { Pbx, snapshotOf } from './entities/pbx';
import { WmsNetwork } from './entities/wms-network';
import { customerOwnershipOf, NetworkLoaders, networkOwnershipOf, pbxOwnershipOf } from './loaders';

/** What registering a PBX takes: its snapshot before it has a revision, the network optional. */
export type RegisterPbxCommand = Omit<PbxSnapshot, 'revision' | 'networkId'> & { networkId?: string | null };

/**
 * Provisioning as the management portal does it. Every command checks the
 * caller and its input first, then changes the tables and records its event in
 * one transaction; a refused command changes nothing.
 */
export class ProvisioningService {
  constructor(private readonly runtime: SubgraphRuntime) {}

  async createCustomer(loaders: NetworkLoaders, input: { id?: string | null; name: string }): Promise<Customer> {
    requireRole(loaders.scope.identity, ['admin'], 'create customers');
    const id = input.id ? normalizeClientId(input.id, 'customer') : randomUUID();
    const name = normalizeDisplayName(input.name, 'customer');
    return this.insertOnce(`A customer with id '${id}' already exists`, async (em) => {
      if (await em.existsBy(Customer, { id })) throw conflict(`A customer with id '${id}' already exists`);
      const customer = em.create(Customer, { id, name, createdAt: new Date() });
      await em.insert(Customer, customer);
      await this.runtime.emit(em, 'CustomerCreated', id, { customerId: id, name });
      return customer;
    });
  }

  async createNetwork(loaders: NetworkLoaders, input: { id?: string | null; name: string; customerId: string }): Promise<WmsNetwork> {
    const customer = await this.customerForChange(loaders, input.customerId);
    const id = input.id ? normalizeClientId(input.id, 'network') : randomUUID();
    const name = normalizeDisplayName(input.name, 'network');
    return this.insertOnce(`A network with id '${id}' already exists`, async (em) => {
      if (await em.existsBy(WmsNetwork, { id })) throw conflict(`A network with id '${id}' already exists`);
      const network = em.create(WmsNetwork, { id, name, customerId: customer.id, createdAt: new Date() });
      await em.insert(WmsNetwork, network);
      await this.runtime.emit(em, 'NetworkCreated', id, { network: { id, name, customerId: customer.id } });
      return network;
    });
  }

  async registerPbx(loaders: NetworkLoaders, input: RegisterPbxCommand): Promise<Pbx> {
    const id = normalizeSerial(input.id);
    const name = normalizePbxName(input.name);
    parseWmsVersion(input.wmsVersion);
    const region = normalizeRegion(input.region);
    const customer = await this.customerForChange(loaders, input.customerId);
    const network = input.networkId ? await this.networkForPbxOf(loaders, customer.id, input.networkId) : null;
    return this.insertOnce(`A PBX with serial '${id}' is already registered`, async (em) => {
      if (await em.existsBy(Pbx, { id })) throw conflict(`A PBX with serial '${id}' is already registered`);
      const now = new Date();
      const pbx = em.create(Pbx, {
        id,
        name,
        kind: input.kind,
        wmsVersion: input.wmsVersion.trim(),
        region,
        customerId: customer.id,
        networkId: network?.id ?? null,
        revision: 1,
        createdAt: now,
        updatedAt: now,
      });
      await em.insert(Pbx, pbx);
      await this.runtime.emit(em, 'PbxRegistered', id, { pbx: snapshotOf(pbx) });
      return pbx;
    });
  }

  /** Moves a PBX into a network of its customer, or out of any network (networkId null). */
  async assignPbxToNetwork(loaders: NetworkLoaders, pbxId: string, networkId: string | null): Promise<Pbx> {
    const pbx = await this.pbxForChange(loaders, pbxId);
    requireRole(loaders.scope.identity, ['admin', 'partner'], 'move PBXs between networks');
    const network = networkId ? await this.networkForPbxOf(loaders, pbx.customerId, networkId) : null;
    return this.runtime.transact(async (em) => {
      const current = await em.findOneOrFail(Pbx, { where: { id: pbx.id }, ...forUpdate(em) });
      const previousNetworkId = current.networkId;
      if (previousNetworkId === (network?.id ?? null)) return current;
      current.networkId = network?.id ?? null;
      current.revision += 1;
      current.updatedAt = new Date();
      await em.save(Pbx, current);
      await this.runtime.emit(em, 'PbxNetworkChanged', current.id, { pbx: snapshotOf(current), previousNetworkId });
      return current;
    });
  }

  /** Records the WMS version a PBX reports, as reported. */
  async reportWmsVersion(loaders: NetworkLoaders, pbxId: string, version: string): Promise<Pbx> {
    parseWmsVersion(version);
    const pbx = await this.pbxForChange(loaders, pbxId);
    return this.runtime.transact(async (em) => {
      const current = await em.findOneOrFail(Pbx, { where: { id: pbx.id }, ...forUpdate(em) });
      const previousVersion = current.wmsVersion;
      // Every report is announced, the same version too: storage decides idempotently (rule 1).
      current.wmsVersion = version.trim();
      current.revision += 1;
      current.updatedAt = new Date();
      await em.save(Pbx, current);
      await this.runtime.emit(em, 'WmsVersionReported', current.id, { pbx: snapshotOf(current), previousVersion });
      return current;
    });
  }

  private async customerForChange(loaders: NetworkLoaders, customerId: string): Promise<Customer> {
    const customer = await loaders.customer.load(customerId);
    if (!customer) throw notFound('Customer', customerId);
    await loaders.scope.assertActs(customerOwnershipOf(customer), 'Customer', customerId);
    requireRole(loaders.scope.identity, ['admin', 'partner'], 'provision networks and PBXs');
    return customer;
  }

  private async pbxForChange(loaders: NetworkLoaders, pbxId: string): Promise<Pbx> {
    const pbx = await loaders.pbx.load(pbxId.trim().toLowerCase());
    if (!pbx) throw notFound('PBX', pbxId);
    await loaders.scope.assertActs(pbxOwnershipOf(pbx), 'PBX', pbx.id);
    return pbx;
  }

  private async networkForPbxOf(loaders: NetworkLoaders, customerId: string, networkId: string): Promise<WmsNetwork> {
    const network = await loaders.network.load(networkId);
    if (!network) throw notFound('Network', networkId);
    await loaders.scope.assertActs(networkOwnershipOf(network), 'Network', networkId);
    if (network.customerId !== customerId) {
      throw conflict(
        `Network '${networkId}' belongs to another customer; a PBX can only join a network of its own customer ('${customerId}')`,
      );
    }
    return network;
  }

  /** Runs an insert; a concurrent twin that wins the race on the primary key becomes the same CONFLICT. */
  private async insertOnce<T>(duplicateMessage: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.runtime.transact(work);
    } catch (error) {
      if (isDuplicateKeyError(error)) throw conflict(duplicateMessage);
      throw error;
    }
  }
}
