import CATALOG from '../operations/BundleCatalog.graphql?raw';
import DASHBOARD from '../operations/NetworkDashboard.graphql?raw';
import { ActivateCds, BundleOrder, StaticIpControl, useMayAct } from '../components/actions';
import { DataTable, Empty, ErrorNote, Field, Loading, ProgressBar, StatePill, UsageMeter } from '../components/ui';
import { date, dateTime, months, words } from '../format';
import { useQuery } from '../hooks';
import { LiveMigration, useLiveMigrations } from '../live';
import { Link } from '../router';
import { DashboardPbx, NetworkDashboardData, Tier } from '../types';

/** The contract's NetworkDashboard, live: migrations move as the agent reports. */
export function NetworkPage({ networkId }: { networkId: string }) {
  const dashboard = useQuery<NetworkDashboardData>(DASHBOARD, { networkId });
  const catalog = useQuery<{ bundleTiers: Tier[] }>(CATALOG);
  const live = useLiveMigrations({ networkId }, () => void dashboard.refetch());
  const mayAct = useMayAct();
  if (dashboard.error && !dashboard.data) return <ErrorNote error={dashboard.error} retry={dashboard.refetch} />;
  if (!dashboard.data) return <Loading what="the network" />;
  const network = dashboard.data.network;
  const refresh = () => void dashboard.refetch();
  return (
    <section aria-labelledby="network-title">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/customers">Customers</Link> › {network.customer.name}
      </nav>
      <div className="page-head">
        <h1 id="network-title">{network.name}</h1>
        <p className="muted">
          WMS network of {network.customer.name} · {network.pbxCount} PBX{network.pbxCount === 1 ? '' : 's'}
        </p>
      </div>
      {dashboard.error && <ErrorNote error={dashboard.error} retry={dashboard.refetch} />}
      {live.error && <ErrorNote error={`Live progress is unavailable: ${live.error.message}`} />}
      <div className="grid">
        <div className="panel">
          <h2>Bundle</h2>
          <dl className="facts">
            <Field label="Tier">
              <strong data-testid="bundle-tier">{network.bundle.tier.code}</strong>{' '}
              {network.bundle.needsUpgrade && <span className="pill pill-warn">needs upgrade</span>}
            </Field>
            <Field label="Source">
              {words(network.bundle.source)}
              {network.bundle.effectiveFrom ? ` since ${date(network.bundle.effectiveFrom)}` : ''}
            </Field>
            <Field label="Analytics retention">{months(network.analyticsRetentionMonths)}</Field>
            <Field label="Static IPs">
              {network.staticIpUsage.assigned} of {network.staticIpUsage.allowance} used ({network.staticIpUsage.available} available)
            </Field>
          </dl>
        </div>
        <div className="panel">
          <h2>Storage</h2>
          <UsageMeter storage={network.storage} />
        </div>
      </div>
      <h2>PBXs</h2>
      {network.pbxs.length === 0 ? (
        <Empty>This network has no PBXs yet.</Empty>
      ) : (
        <DataTable className="pbxs" columns={['PBX', 'Kind', 'Version', 'Region', 'CDS', 'Migration', 'Static IP', mayAct && 'Actions']}>
          {network.pbxs.map((pbx) => (
            <PbxRow key={pbx.id} pbx={pbx} live={live.byPbx[pbx.id]} mayAct={mayAct} onChange={refresh} />
          ))}
        </DataTable>
      )}
      {mayAct && (
        <div className="panel">
          {catalog.error && <ErrorNote error={catalog.error} retry={catalog.refetch} />}
          {catalog.data ? (
            <BundleOrder
              holder={{ kind: 'network', id: network.id, pbxCount: network.pbxCount }}
              tiers={catalog.data.bundleTiers}
              current={network.bundle.tier.code}
              onDone={refresh}
            />
          ) : (
            !catalog.error && <Loading what="the bundle catalogue" />
          )}
        </div>
      )}
    </section>
  );
}

function PbxRow({
  pbx,
  live,
  mayAct,
  onChange,
}: {
  pbx: DashboardPbx;
  live: LiveMigration | undefined;
  mayAct: boolean;
  onChange: () => void;
}) {
  // A live event is newer than the query for the migration it is about; a migration the query has started since wins.
  const current = live && (!pbx.currentMigration || pbx.currentMigration.id === live.id) ? live : null;
  const state = current ? current.pbx.cds.state : pbx.cds.state;
  const migration = current ?? pbx.currentMigration;
  return (
    <tr data-pbx={pbx.id}>
      <th scope="row">
        <Link to={`/pbxs/${encodeURIComponent(pbx.id)}`}>{pbx.name}</Link>
        <div className="muted small">{pbx.id}</div>
      </th>
      <td data-label="Kind">{words(pbx.kind)}</td>
      <td data-label="Version">{pbx.wmsVersion}</td>
      <td data-label="Region">{pbx.region}</td>
      <td data-label="CDS" data-testid={`cds-state-${pbx.id}`}>
        <StatePill state={state} />
        {pbx.cds.activatedAt && <div className="muted small">since {dateTime(pbx.cds.activatedAt)}</div>}
      </td>
      <td data-label="Migration">
        {migration ? (
          <div className="migration-cell">
            <ProgressBar value={migration.percent} label={`Migration of ${pbx.name}`} />
            <span className="muted small">{words(migration.status)}</span>
          </div>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td data-label="Static IP">
        <StaticIpControl pbx={pbx} onDone={onChange} />
      </td>
      {mayAct && (
        <td data-label="Actions">
          <ActivateCds pbx={{ ...pbx, cds: { state } }} onDone={onChange} />
        </td>
      )}
    </tr>
  );
}
