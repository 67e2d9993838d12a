import { Field, ObjectType } from 'type-graphql';
import { Migration } from './migration';

/** What `migrationProgress` delivers: the migration as it stands now, fields from any subgraph. */
@ObjectType('MigrationProgressEvent', { description: 'A migration as it stands after a change' })
export class MigrationProgressEvent {
  @Field(() => Migration) migration!: Migration;
}

/**
 * Declared here because storage owns migrations; served by the gateway
 * (graphql-ws and SSE), which resolves each event into the subscriber's
 * selection through the supergraph. Filters and scoping: see
 * gateway/subscriptions.
 */
export const MIGRATION_SUBSCRIPTION_SDL = `
type Subscription {
  """
  Live progress of migrations, served by the gateway over graphql-ws (and SSE at /graphql/stream).
  Exactly one of pbxId, networkId or customerId. Progress is coalesced (latest wins);
  COMPLETED and FAILED are always delivered.
  """
  migrationProgress(pbxId: ID, networkId: ID, customerId: ID): MigrationProgressEvent!
}
`;
