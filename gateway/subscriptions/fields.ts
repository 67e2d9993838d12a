import { badInput } from '../../kernel/errors';
import { EventEnvelope } from '../../kernel/events/envelope';
import { EventPayloads, MigrationProgressPayload } from '../../kernel/events/catalog';
import { Identity } from '../../kernel/identity';
import { MigrationStatus } from '../../kernel/domain/enums';

/** Runs a query through the gateway as the given caller. */
export type Execute = (
  query: string,
  variables: Record<string, unknown>,
  identity: Identity,
) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }>;

/** Which PBX/network/customer an event is about: what filters and scopes compare with. */
export interface EventSubject {
  pbxId: string | null;
  networkId: string | null;
  customerId: string;
}

/**
 * A subscription field the gateway serves. An event of one of `events` is
 * turned into a payload by querying `entity` (e.g. `migration(id: $key)`)
 * with the subscriber's own selection, so payloads mix fields of every
 * subgraph exactly as a query would, scoped to the subscriber.
 */
export interface SubscriptionField {
  name: string;
  /** event types that produce a delivery */
  events: readonly string[];
  /** the payload type's single field that holds the entity, and the root query that loads it by id */
  payloadField: string;
  entityQuery: string;
  /** the id of the entity the event is about (coalescing is per entity) */
  entityKey(event: EventEnvelope): string;
  subject(event: EventEnvelope): EventSubject;
  /** COMPLETED/FAILED and the like: never coalesced away */
  terminal(event: EventEnvelope): boolean;
  /** checks the arguments and that the caller may watch what they name; returns the filter */
  authorize(args: Record<string, unknown>, identity: Identity, execute: Execute): Promise<EventFilter>;
}

export type EventFilter = (subject: EventSubject) => boolean;

/** Exactly one of pbxId, networkId, customerId; the caller must be able to see the thing named. */
export async function holderFilter(args: Record<string, unknown>, identity: Identity, execute: Execute): Promise<EventFilter> {
  const given = (['pbxId', 'networkId', 'customerId'] as const).filter((k) => typeof args[k] === 'string' && args[k] !== '');
  if (given.length !== 1) throw badInput('Give exactly one of pbxId, networkId or customerId', given[0]);
  const key = given[0];
  const id = String(args[key]);
  // Ask the supergraph as the caller: the subgraphs decide who may see what, here as for queries.
  const probe =
    key === 'pbxId'
      ? 'query ($id: ID!) { pbx(id: $id) { id } }'
      : key === 'networkId'
        ? 'query ($id: ID!) { network(id: $id) { id } }'
        : 'query ($id: ID!) { customer(id: $id) { id } }';
  const result = await execute(probe, { id }, identity);
  const error = result.errors?.[0];
  if (error) throw Object.assign(new Error(error.message), { extensions: error.extensions });
  const normalized = key === 'pbxId' ? id.trim().toLowerCase() : id;
  return key === 'pbxId'
    ? (s) => s.pbxId === normalized
    : key === 'networkId'
      ? (s) => s.networkId === normalized
      : (s) => s.customerId === normalized;
}

const MIGRATION_EVENTS = ['MigrationStarted', 'MigrationProgressed', 'MigrationCompleted', 'MigrationFailed'] as const;

export const migrationProgress: SubscriptionField = {
  name: 'migrationProgress',
  events: MIGRATION_EVENTS,
  payloadField: 'migration',
  entityQuery: 'migration(id: $__key)',
  entityKey: (event) => (event.payload as MigrationProgressPayload).migrationId,
  subject: (event) => {
    const p = event.payload as MigrationProgressPayload;
    return { pbxId: p.pbxId, networkId: p.networkId, customerId: p.customerId };
  },
  terminal: (event) => {
    const status = (event.payload as EventPayloads['MigrationProgressed']).status;
    return status === MigrationStatus.COMPLETED || status === MigrationStatus.FAILED;
  },
  authorize: holderFilter,
};

/** Rule 10's alert: each raise is its own event (never coalesced away); the holder is a network or a standalone PBX. */
export const storageAlerts: SubscriptionField = {
  name: 'storageAlerts',
  events: ['StorageUsageAlertRaised'],
  payloadField: 'alert',
  entityQuery: 'storageAlert(id: $__key)',
  entityKey: (event) => {
    const p = event.payload as EventPayloads['StorageUsageAlertRaised'];
    return `${p.holderType}:${p.holderId}`;
  },
  subject: (event) => {
    const p = event.payload as EventPayloads['StorageUsageAlertRaised'];
    return {
      pbxId: p.holderType === 'PBX' ? p.holderId : null,
      networkId: p.holderType === 'NETWORK' ? p.holderId : null,
      customerId: p.customerId,
    };
  },
  terminal: () => true,
  authorize: holderFilter,
};

export const SUBSCRIPTION_FIELDS: readonly SubscriptionField[] = [migrationProgress, storageAlerts];
