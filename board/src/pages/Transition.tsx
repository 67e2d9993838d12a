import { FormEvent, useState } from 'react';
import TRANSITION from '../operations/RunLegacyTransition.graphql?raw';
import { DataTable, Empty, ErrorNote, Notice } from '../components/ui';
import { useMutation } from '../hooks';
import { Link } from '../router';
import { TransitionData } from '../types';

/** Rule 9 as a dry run: what the round-up of legacy storage licences would decide, and by which rule. Admins only. */
export function TransitionPage() {
  const [asOf, setAsOf] = useState('2024-02-01');
  const mutation = useMutation<TransitionData>(TRANSITION);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void mutation.run({ asOf: `${asOf}T00:00:00.000Z`, dryRun: true });
  };
  const report = mutation.result?.runLegacyLicenseTransition;
  return (
    <section aria-labelledby="transition-title">
      <div className="page-head">
        <h1 id="transition-title">Legacy licence transition</h1>
        <p className="muted">
          A dry run of the round-up of legacy storage licences into bundles (effective 2024-02-01): it reports every decision and changes
          nothing.
        </p>
      </div>
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor="as-of">Effective from</label>
        <input id="as-of" type="date" required value={asOf} onChange={(e) => setAsOf(e.target.value)} />
        <button type="submit" disabled={mutation.busy}>
          {mutation.busy ? 'Running…' : 'Run dry run'}
        </button>
      </form>
      {mutation.error && <ErrorNote error={mutation.error} />}
      {report && (
        <>
          <Notice>
            Dry run: {report.decisions.length} holder{report.decisions.length === 1 ? '' : 's'} decided,{' '}
            {report.decisions.filter((d) => d.applied).length} of them would change; nothing was changed.
          </Notice>
          {report.decisions.length === 0 ? (
            <Empty>No holder has legacy storage licences.</Empty>
          ) : (
            <DataTable className="decisions" columns={['Customer', 'Holder', 'PBXs', 'Licences', 'Bundle', 'Rule', 'Would apply']}>
              {report.decisions.map((d) => (
                <tr key={`${d.networkId ?? ''}:${d.pbxId ?? ''}`}>
                  <td data-label="Customer">{d.customerId}</td>
                  <td data-label="Holder">
                    {d.networkId ? (
                      <Link to={`/networks/${encodeURIComponent(d.networkId)}`}>network {d.networkId}</Link>
                    ) : d.pbxId ? (
                      <Link to={`/pbxs/${encodeURIComponent(d.pbxId)}`}>PBX {d.pbxId}</Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="PBXs">{d.pbxCount}</td>
                  <td data-label="Licences">{d.legacyLicenses}</td>
                  <td data-label="Bundle">
                    <strong>{d.code}</strong>
                  </td>
                  <td data-label="Rule">{d.rule}</td>
                  <td data-label="Would apply">{d.applied ? 'Yes' : 'No (kept)'}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </>
      )}
    </section>
  );
}
