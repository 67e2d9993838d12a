import { FormEvent, useState } from 'react';
import OVERVIEW from '../operations/AnalystOverview.graphql?raw';
import { BarChart } from '../components/charts';
import { ErrorNote, Loading } from '../components/ui';
import { bytes, words } from '../format';
import { useQuery } from '../hooks';
import { OverviewData } from '../types';

/** The contract's AnalystOverview: fleet-wide figures, optionally for one region. No personal data. */
export function OverviewPage() {
  const [regionInput, setRegionInput] = useState('');
  const [region, setRegion] = useState<string | null>(null);
  const query = useQuery<OverviewData>(OVERVIEW, { region });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setRegion(regionInput.trim() || null);
  };
  const data = query.data;
  return (
    <section aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Fleet overview</h1>
        <p className="muted">
          CDS across {region ? `PBXs in ${region}` : 'every PBX'}: states, stored bytes by category, migrations and bundles.
        </p>
      </div>
      <form className="toolbar" onSubmit={submit} aria-label="Choose a region">
        <label htmlFor="region">Region</label>
        <input
          id="region"
          value={regionInput}
          placeholder="All regions, or e.g. eu-central-1"
          onChange={(e) => setRegionInput(e.target.value)}
        />
        <button type="submit" className="secondary">
          Show
        </button>
      </form>
      {query.error && <ErrorNote error={query.error} retry={query.refetch} />}
      {!data && !query.error && <Loading what="the fleet overview" />}
      {data && (
        <>
          <div className="stats">
            <div className="stat">
              <span className="stat-value" data-testid="overview-pbx-count">
                {data.cdsOverview.pbxCount}
              </span>
              <span className="stat-label">PBXs</span>
            </div>
            <div className="stat">
              <span className="stat-value">{bytes(data.cdsOverview.usedBytes)}</span>
              <span className="stat-label">in CDS</span>
            </div>
            <div className="stat">
              <span className="stat-value">{data.cdsOverview.migrationsByStatus.reduce((n, m) => n + m.count, 0)}</span>
              <span className="stat-label">migrations</span>
            </div>
          </div>
          <div className="charts">
            <BarChart
              title="PBXs by CDS state"
              bars={data.cdsOverview.byState.map((s) => ({ label: words(s.state), value: s.pbxCount }))}
              unit="PBXs"
            />
            <BarChart
              title="Bytes in CDS by category"
              bars={data.cdsOverview.byCategory.map((c) => ({
                label: words(c.category),
                value: c.usedBytes,
                display: `${bytes(c.usedBytes)} · ${c.itemCount} items`,
              }))}
            />
            <BarChart
              title="Bundles held (networks + standalone PBXs)"
              bars={data.bundleDistribution.map((b) => ({
                label: b.tier.code,
                value: b.networks + b.standalonePbxs,
                display: `${b.networks} networks, ${b.standalonePbxs} standalone`,
              }))}
            />
            <BarChart
              title="Migrations by status"
              bars={data.cdsOverview.migrationsByStatus.map((m) => ({ label: words(m.status), value: m.count }))}
            />
          </div>
        </>
      )}
    </section>
  );
}
