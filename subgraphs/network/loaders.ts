import { DataSource } from 'typeorm';
import { Identity } from '../../kernel/identity';
import { countLoader, groupedLoader, keyedLoader } from '../../kernel/loaders';
import { selectRows } from '../../kernel/rows';
import { Scope } from '../../kernel/scope';
import { Customer } from './entities/customer';
import { Pbx } from './entities/pbx';
import { WmsNetwork } from './entities/wms-network';

export const pbxOwnershipOf = (pbx: Pbx) => ({ customerId: pbx.customerId, networkId: pbx.networkId, pbxId: pbx.id });
export const networkOwnershipOf = (network: WmsNetwork) => ({ customerId: network.customerId, networkId: network.id, pbxId: null });
export const customerOwnershipOf = (customer: Customer) => ({ customerId: customer.id, networkId: null, pbxId: null });

/** Request-scoped loaders of the network subgraph: one statement per kind of lookup per request. */
export function createNetworkLoaders(db: DataSource, identity: Identity) {
  const pbxs = db.getRepository(Pbx);
  const loaders = {
    customer: keyedLoader<string, Customer>(
      (ids) => selectRows(db, Customer, { whereIn: ['id', ids] }),
      (c) => c.id,
    ),
    network: keyedLoader<string, WmsNetwork>(
      (ids) => selectRows(db, WmsNetwork, { whereIn: ['id', ids] }),
      (n) => n.id,
    ),
    pbx: keyedLoader<string, Pbx>(
      (ids) => selectRows(db, Pbx, { whereIn: ['id', ids] }),
      (p) => p.id,
    ),
    pbxsOfNetwork: groupedLoader<string, Pbx>(
      (ids) =>
        selectRows(db, Pbx, {
          whereIn: ['networkId', ids],
          orderBy: [
            ['name', 'ASC'],
            ['id', 'ASC'],
          ],
        }),
      (p) => p.networkId ?? '',
    ),
    pbxCountOfNetwork: countLoader(pbxs, 'networkId'),
    networksOfCustomer: groupedLoader<string, WmsNetwork>(
      (ids) =>
        selectRows(db, WmsNetwork, {
          whereIn: ['customerId', ids],
          orderBy: [
            ['name', 'ASC'],
            ['id', 'ASC'],
          ],
        }),
      (n) => n.customerId,
    ),
    standalonePbxsOfCustomer: groupedLoader<string, Pbx>(
      (ids) =>
        selectRows(db, Pbx, {
          whereIn: ['customerId', ids],
          isNull: ['networkId'],
          orderBy: [
            ['name', 'ASC'],
            ['id', 'ASC'],
          ],
        }),
      (p) => p.customerId,
    ),
  };
  const scope = new Scope(identity, async (serial) => {
    const own = await loaders.pbx.load(serial);
    return own ? pbxOwnershipOf(own) : null;
  });
  return { ...loaders, scope };
}

export type NetworkLoaders = ReturnType<typeof createNetworkLoaders>;
