import { FormEvent, useState } from 'react';
import CATALOG from '../operations/BundleCatalog.graphql?raw';
import DETAILS from '../operations/PbxDetails.graphql?raw';
import RECORDINGS from '../operations/Recordings.graphql?raw';
import RECORDINGS_ANALYST from '../operations/RecordingsWithoutPersonalData.graphql?raw';
import { ActivateCds, BundleOrder, StaticIpControl, useMayAct } from '../components/actions';
import { DataTable, Empty, ErrorNote, Field, Loading, ProgressBar, StatePill, UsageMeter } from '../components/ui';
import { bytes, date, dateTime, duration, months, words } from '../format';
import { useBoard, useQuery } from '../hooks';
import { useLiveMigrations } from '../live';
import { Link } from '../router';
import { MigrationRow, PbxDetailsData, RecordingsData, Tier } from '../types';

/** Everything about one PBX: CDS, migrations per category, bundle, static IP and its recordings. */
export function PbxPage({ pbxId }: { pbxId: string }) {
  const details = useQuery<PbxDetailsData>(DETAILS, { pbxId });
  const live = useLiveMigrations({ pbxId }, () => void details.refetch());
  const mayAct = useMayAct();
  if (details.error && !details.data) return <ErrorNote error={details.error} retry={details.refetch} />;
  if (!details.data) return <Loading what="the PBX" />;
  const pbx = details.data.pbx;
  const refresh = () => void details.refetch();
  const liveNow = live.byPbx[pbx.id];
  const migrations = pbx.migrations.map((m) =>
    liveNow && liveNow.id === m.id ? { ...m, ...liveNow, categories: mergeCategories(m, liveNow.categories) } : m,
  );
  const state = liveNow && migrations[0]?.id === liveNow.id ? liveNow.pbx.cds.state : pbx.cds.state;
  return (
    <section aria-labelledby="pbx-title">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/customers">Customers</Link> › {pbx.customer.name}
        {pbx.network && (
          <>
            {' '}
            › <Link to={`/networks/${encodeURIComponent(pbx.network.id)}`}>{pbx.network.name}</Link>
          </>
        )}
      </nav>
      <div className="page-head">
        <h1 id="pbx-title">{pbx.name}</h1>
        <p className="muted">
          {words(pbx.kind)} PBX {pbx.id} · WMS {pbx.wmsVersion} · {pbx.region} · {pbx.network ? `in ${pbx.network.name}` : 'standalone'}
        </p>
      </div>
      {details.error && <ErrorNote error={details.error} retry={details.refetch} />}
      {live.error && <ErrorNote error={`Live progress is unavailable: ${live.error.message}`} />}
      <div className="grid">
        <div className="panel">
          <h2>Company Data Storage</h2>
          <dl className="facts">
            <Field label="State">
              <span data-testid="pbx-cds-state">
                <StatePill state={state} />
              </span>
            </Field>
            <Field label="Region">{pbx.cds.region ?? '—'}</Field>
            <Field label="Activated">{dateTime(pbx.cds.activatedAt)}</Field>
            <Field label="Used">{bytes(pbx.cds.usedBytes)}</Field>
          </dl>
          {pbx.cds.usageByCategory.length > 0 && (
            <ul className="plain small">
              {pbx.cds.usageByCategory.map((u) => (
                <li key={u.category}>
                  {words(u.category)}: {bytes(u.usedBytes)} in {u.itemCount} item{u.itemCount === 1 ? '' : 's'}
                </li>
              ))}
            </ul>
          )}
          {mayAct && <ActivateCds pbx={{ ...pbx, cds: { state } }} onDone={refresh} />}
        </div>
        <div className="panel">
          <h2>Bundle and static IP</h2>
          <dl className="facts">
            <Field label="Bundle">
              {pbx.bundle.tier.code} ({words(pbx.bundle.source)}
              {pbx.bundle.effectiveFrom ? ` since ${date(pbx.bundle.effectiveFrom)}` : ''}){pbx.network ? ', shared with its network' : ''}
            </Field>
            <Field label="Analytics retention">{months(pbx.analyticsRetentionMonths)}</Field>
            <Field label="Static IP">
              <StaticIpControl pbx={pbx} onDone={refresh} />
            </Field>
            <Field label="Allowance">
              {pbx.staticIpUsage.assigned} of {pbx.staticIpUsage.allowance} used
            </Field>
          </dl>
          <UsageMeter storage={pbx.holderStorage} />
        </div>
      </div>
      {mayAct && !pbx.network && <StandaloneBundle pbxId={pbx.id} current={pbx.bundle.tier.code} onDone={refresh} />}
      <h2>Migrations</h2>
      {migrations.length === 0 ? (
        <Empty>No migration yet: CDS has not been activated for this PBX.</Empty>
      ) : (
        <ol className="migrations">
          {migrations.map((m) => (
            <Migration key={m.id} migration={m} />
          ))}
        </ol>
      )}
      <Recordings pbxId={pbx.id} />
    </section>
  );
}

function mergeCategories(migration: MigrationRow, live: MigrationRow['categories']): MigrationRow['categories'] {
  return migration.categories.map((c) => ({ ...c, ...live.find((l) => l.category === c.category) }));
}

function StandaloneBundle({ pbxId, current, onDone }: { pbxId: string; current: string; onDone: () => void }) {
  const catalog = useQuery<{ bundleTiers: Tier[] }>(CATALOG);
  return (
    <div className="panel">
      {catalog.error && <ErrorNote error={catalog.error} retry={catalog.refetch} />}
      {catalog.data ? (
        <BundleOrder holder={{ kind: 'pbx', id: pbxId }} tiers={catalog.data.bundleTiers} current={current} onDone={onDone} />
      ) : (
        !catalog.error && <Loading what="the bundle catalogue" />
      )}
    </div>
  );
}

function Migration({ migration }: { migration: MigrationRow }) {
  return (
    <li className="panel migration" data-migration={migration.id}>
      <div className="migration-head">
        <StatePill state={migration.status} />
        <span>
          {words(migration.trigger)} · started {dateTime(migration.startedAt)}
          {migration.finishedAt ? ` · finished ${dateTime(migration.finishedAt)}` : ''}
        </span>
      </div>
      <ProgressBar value={migration.percent} label={`Migration ${migration.id}`} />
      <p className="small muted">
        {migration.itemsDone} of {migration.itemsTotal} items, {bytes(migration.bytesDone)} of {bytes(migration.bytesTotal)}
      </p>
      {migration.error && <p className="error-text">Why it failed: {migration.error}</p>}
      <table className="categories">
        <caption className="sr-only">Progress per data category</caption>
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col">State</th>
            <th scope="col">Items</th>
            <th scope="col">Bytes</th>
          </tr>
        </thead>
        <tbody>
          {migration.categories.map((c) => (
            <tr key={c.category} data-category={c.category}>
              <th scope="row">{words(c.category)}</th>
              <td>
                {c.state === 'NOT_SUPPORTED_YET' ? (
                  <span className="pill pill-not_supported_yet">Not moved yet (stays on the PBX)</span>
                ) : (
                  <StatePill state={c.state} />
                )}
              </td>
              <td>{c.state === 'NOT_SUPPORTED_YET' ? `${c.itemsTotal} on the PBX` : `${c.itemsDone} / ${c.itemsTotal}`}</td>
              <td>
                {c.bytesTotal === undefined
                  ? '—'
                  : c.state === 'NOT_SUPPORTED_YET'
                    ? bytes(c.bytesTotal)
                    : `${bytes(c.bytesDone ?? 0)} / ${bytes(c.bytesTotal)}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}

const PAGE = 20;

/** `YYYY-MM-DD` (a date input, in UTC) to an instant; `to` is the start of the next day (the filter's end is exclusive). */
function dayStart(day: string, next = false): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const start = new Date(`${day}T00:00:00.000Z`);
  if (next) start.setUTCDate(start.getUTCDate() + 1);
  return start.toISOString();
}

function Recordings({ pbxId }: { pbxId: string }) {
  const { session } = useBoard();
  const personal = session.role !== 'analyst';
  const [fromDay, setFromDay] = useState('');
  const [toDay, setToDay] = useState('');
  const [filter, setFilter] = useState<{ from: string | null; to: string | null }>({ from: null, to: null });
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [filterError, setFilterError] = useState<string | null>(null);
  const [playing, setPlaying] = useState<string | null>(null);
  const after = cursors[cursors.length - 1];
  const query = useQuery<RecordingsData>(personal ? RECORDINGS : RECORDINGS_ANALYST, { pbxId, first: PAGE, after, ...filter });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const from = fromDay ? dayStart(fromDay) : null;
    const to = toDay ? dayStart(toDay, true) : null;
    if (from && to && from >= to) {
      setFilterError('The “from” day must not be after the “to” day.');
      return;
    }
    setFilterError(null);
    setCursors([null]);
    setFilter({ from, to });
  };
  const page = query.data?.pbx.recordings;
  const pageNumber = cursors.length;
  return (
    <section aria-labelledby="recordings-title" className="recordings">
      <h2 id="recordings-title">Call recordings</h2>
      <form className="toolbar" onSubmit={apply} aria-label="Filter recordings by day">
        <label htmlFor="rec-from">From</label>
        <input id="rec-from" type="date" value={fromDay} onChange={(e) => setFromDay(e.target.value)} />
        <label htmlFor="rec-to">To</label>
        <input id="rec-to" type="date" value={toDay} onChange={(e) => setToDay(e.target.value)} />
        <button type="submit" className="secondary">
          Filter
        </button>
        {(filter.from || filter.to) && (
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setFromDay('');
              setToDay('');
              setCursors([null]);
              setFilter({ from: null, to: null });
            }}
          >
            Clear
          </button>
        )}
      </form>
      {filterError && <ErrorNote error={filterError} />}
      {!personal && <p className="muted small">Caller, callee and audio are personal data and are not shown to analysts.</p>}
      {query.error && <ErrorNote error={query.error} retry={query.refetch} />}
      {query.loading && !page && <Loading what="recordings" />}
      {page && page.edges.length === 0 && (
        <Empty>{filter.from || filter.to ? 'No recordings in these days.' : 'This PBX has no recordings.'}</Empty>
      )}
      {page && page.edges.length > 0 && (
        <>
          <p className="muted small" aria-live="polite">
            {page.totalCount} recording{page.totalCount === 1 ? '' : 's'}
            {filter.from || filter.to ? ' in these days' : ''} · page {pageNumber}
          </p>
          <DataTable
            className="recordings-table"
            columns={['Started', 'Length', personal && 'Caller', personal && 'Callee', 'Size', 'Where', personal && 'Listen']}
          >
            {page.edges.map(({ node }) => (
              <tr key={node.id} data-recording={node.id}>
                <td data-label="Started">{dateTime(node.startedAt)}</td>
                <td data-label="Length">{duration(node.durationSeconds)}</td>
                {personal && (
                  <>
                    <td data-label="Caller">{node.caller || '—'}</td>
                    <td data-label="Callee">{node.callee || '—'}</td>
                  </>
                )}
                <td data-label="Size">{bytes(node.sizeBytes)}</td>
                <td data-label="Where">
                  {words(node.location)}
                  {node.localCopyExpiresAt && node.location === 'CDS_WITH_LOCAL_COPY' ? (
                    <div className="muted small">local copy until {date(node.localCopyExpiresAt)}</div>
                  ) : null}
                </td>
                {personal && (
                  <td data-label="Listen">
                    {node.playbackUrl ? (
                      playing === node.id ? (
                        <audio
                          controls
                          autoPlay
                          preload="none"
                          src={node.playbackUrl}
                          aria-label={`Recording of ${dateTime(node.startedAt)}`}
                          onError={() => undefined}
                        />
                      ) : (
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => setPlaying(node.id)}
                          aria-label={`Play the recording of ${dateTime(node.startedAt)}`}
                        >
                          Play
                        </button>
                      )
                    ) : (
                      <span className="muted small">Only on the PBX</span>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </DataTable>
          <div className="pager">
            <button
              type="button"
              className="secondary"
              disabled={cursors.length === 1 || query.loading}
              onClick={() => setCursors((c) => c.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!page.pageInfo.hasNextPage || query.loading}
              onClick={() => setCursors((c) => [...c, page.pageInfo.endCursor])}
            >
              Older
            </button>
          </div>
        </>
      )}
    </section>
  );
}
