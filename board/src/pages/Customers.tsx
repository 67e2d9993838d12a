import { useEffect, useState } from 'react';
import CUSTOMERS from '../operations/Customers.graphql?raw';
import { Empty, ErrorNote, Loading, StatePill } from '../components/ui';
import { useBoard, useQuery } from '../hooks';
import { Link } from '../router';
import { CustomerRow, CustomersData } from '../types';

/** Every customer the token may see, with its networks and standalone PBXs. */
export function CustomersPage() {
  const { session } = useBoard();
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState('');
  const [after, setAfter] = useState<string | null>(null);
  const [earlier, setEarlier] = useState<CustomerRow[]>([]);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      setFilter(search.trim());
      setAfter(null);
      setEarlier([]);
    }, 250);
    return () => window.clearTimeout(timer);
  }, [search]);
  const query = useQuery<CustomersData>(CUSTOMERS, { after, nameContains: filter || null });
  const rows = [...earlier, ...(query.data?.customers.edges.map((e) => e.node) ?? [])];
  return (
    <section aria-labelledby="customers-title">
      <div className="page-head">
        <h1 id="customers-title">Customers</h1>
        <p className="muted">
          {session.role === 'partner'
            ? 'The customers your partner token manages.'
            : 'Every customer, with its WMS networks and standalone PBXs.'}
        </p>
      </div>
      <div className="toolbar">
        <label htmlFor="customer-search">Find a customer</label>
        <input id="customer-search" type="search" value={search} placeholder="Name contains…" onChange={(e) => setSearch(e.target.value)} />
        {query.data && (
          <span className="muted">
            {query.data.customers.totalCount} customer{query.data.customers.totalCount === 1 ? '' : 's'}
          </span>
        )}
      </div>
      {query.error && <ErrorNote error={query.error} retry={query.refetch} />}
      {query.loading && rows.length === 0 && <Loading what="customers" />}
      {!query.loading && !query.error && rows.length === 0 && (
        <Empty>{filter ? `No customer's name contains “${filter}”.` : 'No customers to show for this token.'}</Empty>
      )}
      <ul className="cards" aria-label="Customers">
        {rows.map((customer) => (
          <li key={customer.id} className="card" data-customer={customer.id}>
            <h2>
              {customer.name} <span className="muted small">{customer.id}</span>
            </h2>
            <h3>Networks</h3>
            {customer.networks.length === 0 ? (
              <Empty>No networks.</Empty>
            ) : (
              <ul className="plain">
                {customer.networks.map((n) => (
                  <li key={n.id}>
                    <Link to={`/networks/${encodeURIComponent(n.id)}`}>{n.name}</Link>
                    <span className="muted">
                      {' '}
                      · {n.pbxCount} PBX{n.pbxCount === 1 ? '' : 's'} · {n.bundle.tier.code}
                    </span>
                    {n.bundle.needsUpgrade && <span className="pill pill-warn">needs upgrade</span>}
                  </li>
                ))}
              </ul>
            )}
            <h3>Standalone PBXs</h3>
            {customer.standalonePbxs.length === 0 ? (
              <Empty>No standalone PBXs.</Empty>
            ) : (
              <ul className="plain">
                {customer.standalonePbxs.map((p) => (
                  <li key={p.id}>
                    <Link to={`/pbxs/${encodeURIComponent(p.id)}`}>{p.name}</Link>
                    <span className="muted">
                      {' '}
                      · {p.kind.toLowerCase()} · {p.region} · {p.bundle.tier.code}
                      {p.staticIp ? ` · ${p.staticIp.address}` : ''}{' '}
                    </span>
                    <StatePill state={p.cds.state} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
      {query.data?.customers.pageInfo.hasNextPage && (
        <button
          type="button"
          className="secondary"
          disabled={query.loading}
          onClick={() => {
            setEarlier(rows);
            setAfter(query.data!.customers.pageInfo.endCursor);
          }}
        >
          {query.loading ? 'Loading…' : 'Show more customers'}
        </button>
      )}
    </section>
  );
}
