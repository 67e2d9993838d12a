import { ReactNode } from 'react';
import { BoardError } from '../api';
import { percent, words } from '../format';
import { CdsState, HolderStorage } from '../types';
import { bytes } from '../format';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/**
 * A table that scrolls on its own on narrow screens: one header cell per
 * column (a `false` column is left out, for columns some readers do not see),
 * and the rows. Each cell carries its column's name as `data-label`, which the
 * narrow layout shows in front of it.
 */
export function DataTable({ className, columns, children }: { className: string; columns: (string | false)[]; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table className={className}>
        <thead>
          <tr>
            {columns
              .filter((c): c is string => c !== false)
              .map((column) => (
                <th scope="col" key={column}>
                  {column}
                </th>
              ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** An error in words, announced to screen readers; `retry` offers to try again. */
export function ErrorNote({ error, retry }: { error: BoardError | string; retry?: () => void }) {
  const message = typeof error === 'string' ? error : error.message;
  return (
    <div className="error" role="alert">
      <span>{message}</span>
      {retry && (
        <button type="button" className="link-button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="notice" role="status">
      {children}
    </div>
  );
}

export function StatePill({ state }: { state: string }) {
  return (
    <span className={`pill pill-${state.toLowerCase()}`} data-state={state}>
      {words(state)}
    </span>
  );
}

export function CdsStatePill({ state }: { state: CdsState }) {
  return <StatePill state={state} />;
}

/** A labelled progress bar (role progressbar with aria-valuenow), e.g. a migration's percent. */
export function ProgressBar({ value, label }: { value: number; label: string }) {
  const clamped = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={clamped}>
      <div className="progress-fill" style={{ width: `${clamped}%` }} />
      <span className="progress-text">{clamped}%</span>
    </div>
  );
}

/** Used storage against the holder's capacity, with the 95% alert (rule 10). */
export function UsageMeter({ storage }: { storage: HolderStorage }) {
  const ratio = storage.usageRatio;
  const width = Math.min(100, ratio * 100);
  const level = storage.alertActive ? 'alert' : ratio >= 0.8 ? 'warn' : 'ok';
  return (
    <div className="usage">
      <div
        className={`meter meter-${level}`}
        role="meter"
        aria-label="Storage used"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(ratio * 100)}
      >
        <div className="meter-fill" style={{ width: `${width}%` }} />
      </div>
      <p className="usage-text">
        {bytes(storage.usedBytes)} of {bytes(storage.capacityBytes)} used ({percent(ratio)})
      </p>
      {storage.alertActive && (
        <p className="usage-alert" role="alert">
          Storage alert: usage reached 95% of the capacity
          {storage.alertRaisedAt ? ` (raised ${new Date(storage.alertRaisedAt).toLocaleString()})` : ''}. Order a larger bundle.
        </p>
      )}
    </div>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
