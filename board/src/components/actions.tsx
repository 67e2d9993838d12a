import { FormEvent, useId, useState } from 'react';
import ACTIVATE from '../operations/ActivateCds.graphql?raw';
import ASSIGN_IP from '../operations/AssignStaticIp.graphql?raw';
import ORDER_BUNDLE from '../operations/OrderBundle.graphql?raw';
import RELEASE_IP from '../operations/ReleaseStaticIp.graphql?raw';
import { bytes, months } from '../format';
import { useBoard, useMutation } from '../hooks';
import { CdsState, PbxKind, StaticIp, Tier } from '../types';
import { ErrorNote, Notice } from './ui';

/** Admins and partners act; analysts (and PBX tokens) only read. */
export function useMayAct(): boolean {
  const { session } = useBoard();
  return session.role === 'admin' || session.role === 'partner';
}

/** Rule 2: CDS is activated by hand for VIRTUAL and HARDWARE PBXs (the server decides whether the version allows it). */
export function ActivateCds({
  pbx,
  onDone,
}: {
  pbx: { id: string; name: string; kind: PbxKind; cds: { state: CdsState } };
  onDone: () => void;
}) {
  const mutation = useMutation<unknown>(ACTIVATE);
  if (pbx.kind === 'CLOUD') return null;
  if (pbx.cds.state === 'ACTIVE' || pbx.cds.state === 'MIGRATING') return null;
  const again = pbx.cds.state === 'MIGRATION_FAILED';
  return (
    <div className="action">
      <button
        type="button"
        disabled={mutation.busy}
        aria-label={`${again ? 'Activate CDS again' : 'Activate CDS'} for ${pbx.name}`}
        onClick={async () => {
          if (await mutation.run({ pbxId: pbx.id })) onDone();
        }}
      >
        {mutation.busy ? 'Activating…' : again ? 'Activate CDS again' : 'Activate CDS'}
      </button>
      {mutation.error && <ErrorNote error={mutation.error} />}
    </div>
  );
}

/** Rule 8: a cloud PBX holds at most one static IP, within its holder's allowance. */
export function StaticIpControl({
  pbx,
  onDone,
}: {
  pbx: { id: string; name: string; kind: PbxKind; staticIp: StaticIp | null };
  onDone: () => void;
}) {
  const assign = useMutation<unknown>(ASSIGN_IP);
  const release = useMutation<{ releaseStaticIp: { released: boolean } }>(RELEASE_IP);
  const mayAct = useMayAct();
  if (pbx.kind !== 'CLOUD') return <span className="muted">Cloud PBXs only</span>;
  const error = assign.error ?? release.error;
  return (
    <div className="action">
      {pbx.staticIp ? (
        <code className="ip" data-testid={`static-ip-${pbx.id}`}>
          {pbx.staticIp.address}
        </code>
      ) : (
        <span className="muted">None</span>
      )}
      {mayAct &&
        (pbx.staticIp ? (
          <button
            type="button"
            className="secondary"
            disabled={release.busy}
            aria-label={`Release the static IP of ${pbx.name}`}
            onClick={async () => {
              assign.reset();
              if (await release.run({ pbxId: pbx.id })) onDone();
            }}
          >
            {release.busy ? 'Releasing…' : 'Release'}
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            disabled={assign.busy}
            aria-label={`Assign a static IP to ${pbx.name}`}
            onClick={async () => {
              release.reset();
              if (await assign.run({ pbxId: pbx.id })) onDone();
            }}
          >
            {assign.busy ? 'Assigning…' : 'Assign static IP'}
          </button>
        ))}
      {error && <ErrorNote error={error} />}
    </div>
  );
}

export type Holder = { kind: 'network'; id: string; pbxCount: number } | { kind: 'pbx'; id: string };

/** Why the catalogue says a holder may not hold a tier (rule 7); null when it may. The server decides in the end. */
export function tierRefusal(tier: Tier, holder: Holder): string | null {
  if (tier.code === 'DEFAULT') return 'What a holder has without a bundle; it cannot be ordered.';
  if (holder.kind === 'network' && tier.standaloneOnly) return `${tier.code} is for standalone PBXs only.`;
  if (holder.kind === 'network' && tier.maxNetworkPbxs !== null && holder.pbxCount > tier.maxNetworkPbxs) {
    return `${tier.code} is for networks of at most ${tier.maxNetworkPbxs} PBXs; this one has ${holder.pbxCount}.`;
  }
  return null;
}

function allowance(tier: Tier): string {
  return tier.staticIpAllowance === null
    ? 'a static IP for every PBX'
    : `${tier.staticIpAllowance} static IP${tier.staticIpAllowance === 1 ? '' : 's'}`;
}

/** Orders a bundle for a network or a standalone PBX; tiers the holder may not hold are shown as such, with the reason. */
export function BundleOrder({ holder, tiers, current, onDone }: { holder: Holder; tiers: Tier[]; current: string; onDone: () => void }) {
  const mutation = useMutation<{ orderBundle: { bundle: { tier: { code: string } } } }>(ORDER_BUNDLE);
  const [code, setCode] = useState('');
  const name = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!code) return;
    const variables = holder.kind === 'network' ? { networkId: holder.id, code } : { pbxId: holder.id, code };
    if (await mutation.run(variables)) onDone();
  };
  return (
    <form className="bundle-order" onSubmit={submit} aria-label="Order a bundle">
      <fieldset>
        <legend>Order a bundle</legend>
        <ul className="tiers">
          {tiers
            .filter((t) => t.code !== 'DEFAULT')
            .map((tier) => {
              const refusal = tierRefusal(tier, holder);
              const id = `${name}-${tier.code}`;
              return (
                <li key={tier.code} className={refusal ? 'tier tier-refused' : 'tier'} data-tier={tier.code}>
                  <input
                    type="radio"
                    id={id}
                    name={name}
                    value={tier.code}
                    checked={code === tier.code}
                    onChange={() => {
                      setCode(tier.code);
                      mutation.reset();
                    }}
                    aria-describedby={`${id}-about`}
                  />
                  <label htmlFor={id}>
                    <span>
                      <strong>{tier.code}</strong>
                      {tier.code === current && <span className="pill pill-current">current</span>}
                    </span>
                    <span id={`${id}-about`} className="tier-about">
                      {bytes(tier.storageBytes)}, analytics kept {months(tier.analyticsRetentionMonths)}, {allowance(tier)}
                      {refusal && <span className="tier-refusal"> — not allowed here: {refusal}</span>}
                    </span>
                  </label>
                </li>
              );
            })}
        </ul>
        <button type="submit" disabled={!code || mutation.busy}>
          {mutation.busy ? 'Ordering…' : code ? `Order ${code}` : 'Order'}
        </button>
      </fieldset>
      {mutation.error && <ErrorNote error={mutation.error} />}
      {mutation.result && <Notice>Ordered: the holder now holds {mutation.result.orderBundle.bundle.tier.code}.</Notice>}
    </form>
  );
}
