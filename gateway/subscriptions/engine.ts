import {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLSchema,
  Kind,
  OperationDefinitionNode,
  print,
  validate,
  ExecutionResult,
  getVariableValues,
  parse,
  ValueNode,
  visit,
  VariableDefinitionNode,
} from 'graphql';
import { DomainError } from '../../kernel/errors';
import { EventBus, EventEnvelope } from '../../kernel/events/envelope';
import { Identity } from '../../kernel/identity';
import { EventFilter, Execute, SUBSCRIPTION_FIELDS, SubscriptionField } from './fields';
import { componentLogger } from '../../kernel/log';

const log = componentLogger('subscriptions');

export interface EngineOptions {
  schema: GraphQLSchema;
  execute: Execute;
  bus: EventBus;
  /** at most one progress delivery per entity and subscriber group in this interval (terminal ones always) */
  coalesceMs?: number;
  /** a subscriber further behind than this many results gets only the latest (and every terminal one) */
  maxQueue?: number;
}

/** One subscriber: a bounded queue read by its transport. */
class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: { result: ExecutionResult; terminal: boolean }[] = [];
  private waiting: ((value: IteratorResult<ExecutionResult>) => void) | null = null;
  private done = false;
  private expiry: NodeJS.Timeout | null = null;

  constructor(
    readonly group: Group,
    /** this subscriber's own token: its expiry ends this subscription only */
    readonly identity: Identity,
    readonly filter: EventFilter,
    private readonly maxQueue: number,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  /** Latest wins for progress; terminal results are always kept. */
  push(result: ExecutionResult, terminal: boolean): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: result, done: false });
      return;
    }
    if (!terminal && this.queue.length >= this.maxQueue) {
      const last = this.queue.findLastIndex((q) => !q.terminal);
      if (last >= 0) this.queue.splice(last, 1);
    }
    this.queue.push({ result, terminal });
  }

  expireAt(seconds: number | null): void {
    if (!seconds) return;
    const ms = seconds * 1000 - Date.now();
    const end = () => {
      this.push({ errors: [new DomainError('UNAUTHENTICATED', 'The token has expired; the subscription ended')] }, true);
      this.finish();
    };
    if (ms <= 0) end();
    else this.expiry = setTimeout(end, Math.min(ms, 2 ** 31 - 1));
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.expiry) clearTimeout(this.expiry);
    this.onClose(this);
    if (this.waiting && !this.queue.length) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item.result, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    this.queue.length = 0;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ExecutionResult> {
    return this;
  }
}

/**
 * Subscribers that would receive identical payloads: same field, selection,
 * variables and scope. The group holds no identity of its own: each payload
 * query runs as one of its subscribers whose token is still valid, so no
 * subscriber's results depend on another's token.
 */
interface Group {
  key: string;
  field: SubscriptionField;
  query: string;
  variables: Record<string, unknown>;
  subscribers: Set<Subscriber>;
  /** per entity: coalescing state */
  entities: Map<string, EntityState>;
}

interface EntityState {
  /** the last payload delivered, so an unchanged state is not sent twice */
  delivered: string | null;
  lastRun: number;
  running: boolean;
  dirty: boolean;
  terminal: boolean;
  timer: NodeJS.Timeout | null;
}

const SERIALIZED = Symbol('serialized');

/** The JSON text of a result the engine made (once per subscriber group), if it was one. */
export function serializedResult(result: ExecutionResult): string | undefined {
  return (result as { [SERIALIZED]?: string })[SERIALIZED];
}

/** Everything that makes two identities see the same thing. */
const scopeKey = (identity: Identity) => `${identity.role}|${[...identity.customers].sort().join(',')}|${identity.pbx ?? ''}`;

/**
 * Serves the supergraph's subscriptions at the gateway (@apollo/gateway
 * executes none). Design (docs/subscriptions.md): events come from the bus's
 * live tail; for each event the subscribers whose filter matches get a
 * payload made by running their own selection as a query for the entity the
 * event is about, through the gateway's query planner, as the subscriber.
 * Subscribers with the same selection, variables and scope share one query;
 * progress is coalesced per entity to at most one query per `coalesceMs`;
 * terminal events are always delivered.
 */
export class SubscriptionEngine {
  private readonly groups = new Map<string, Group>();
  private readonly byEvent = new Map<string, Set<Group>>();
  private readonly seen = new Set<string>();
  private tail: { stop(): Promise<void> } | null = null;
  private readonly coalesceMs: number;
  private readonly maxQueue: number;

  /** the public API schema the engine validates subscriptions against */
  get schema(): GraphQLSchema {
    return this.options.schema;
  }

  constructor(private readonly options: EngineOptions) {
    this.coalesceMs = options.coalesceMs ?? 100;
    this.maxQueue = options.maxQueue ?? 2;
  }

  async start(): Promise<void> {
    this.tail = await this.options.bus.tail((event) => this.onEvent(event));
  }

  private stopped = false;

  /**
   * Ends every subscription (graceful shutdown: each gets a last payload with
   * `reason` as an error, then completes) and stops reading the bus.
   */
  async stop(reason?: string): Promise<void> {
    this.stopped = true;
    await this.tail?.stop();
    for (const group of this.groups.values()) {
      for (const subscriber of group.subscribers) {
        if (reason)
          subscriber.push(
            { errors: [new GraphQLError(reason, { extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'SHUTTING_DOWN' } })] },
            true,
          );
        subscriber.finish();
      }
      for (const state of group.entities.values()) if (state.timer) clearTimeout(state.timer);
    }
    this.groups.clear();
    this.byEvent.clear();
  }

  get subscriberCount(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.subscribers.size;
    return n;
  }

  /** Validates and starts a subscription; an ExecutionResult with errors when it is refused. */
  async subscribe(
    document: DocumentNode,
    rawVariables: Record<string, unknown> | null | undefined,
    identity: Identity,
    operationName?: string | null,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    if (this.stopped)
      return {
        errors: [
          new GraphQLError('The gateway is shutting down; subscribe again', {
            extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'SHUTTING_DOWN' },
          }),
        ],
      };
    const { schema } = this.options;
    const validation = validate(schema, document);
    if (validation.length) return { errors: validation.map((e) => badRequest(e.message)) };
    const operation = pickOperation(document, operationName);
    if (!operation || operation.operation !== 'subscription') return { errors: [badRequest('Send a subscription operation')] };
    const fields = operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD);
    if (fields.length !== 1 || operation.selectionSet.selections.length !== 1)
      return { errors: [badRequest('A subscription selects exactly one field')] };
    const root = fields[0];
    const field = SUBSCRIPTION_FIELDS.find((f) => f.name === root.name.value);
    if (!field) return { errors: [badRequest(`Subscription field ${root.name.value} is not served`)] };
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
    if (coerced.errors) return { errors: coerced.errors.map((e) => badRequest(e.message)) };
    const variables = coerced.coerced;
    const args = Object.fromEntries(
      (root.arguments ?? []).map((a) => [a.name.value, a.value.kind === Kind.VARIABLE ? variables[a.value.name.value] : valueOf(a.value)]),
    );
    let filter: EventFilter;
    try {
      filter = await field.authorize(args, identity, this.options.execute);
    } catch (error) {
      return { errors: [asGraphQLError(error)] };
    }
    const query = deriveQuery(document, operation, root, field);
    const usedVariables = Object.fromEntries(Object.entries(variables).filter(([name]) => query.includes(`$${name}`)));
    const key = `${field.name}\u0000${query}\u0000${JSON.stringify(usedVariables)}\u0000${scopeKey(identity)}`;
    let group = this.groups.get(key);
    if (!group) {
      group = { key, field, query, variables: usedVariables, subscribers: new Set(), entities: new Map() };
      this.groups.set(key, group);
      for (const type of field.events) {
        const set = this.byEvent.get(type) ?? new Set<Group>();
        set.add(group);
        this.byEvent.set(type, set);
      }
    }
    const subscriber = new Subscriber(group, identity, filter, this.maxQueue, (s) => this.remove(s));
    group.subscribers.add(subscriber);
    subscriber.expireAt(identity.expiresAt);
    return subscriber;
  }

  private remove(subscriber: Subscriber): void {
    const group = subscriber.group;
    group.subscribers.delete(subscriber);
    if (group.subscribers.size) return;
    this.groups.delete(group.key);
    for (const type of group.field.events) this.byEvent.get(type)?.delete(group);
    for (const state of group.entities.values()) if (state.timer) clearTimeout(state.timer);
  }

  private onEvent(event: EventEnvelope): void {
    // Several relays may publish one event twice (at-least-once); deliver it once.
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > 50_000) this.seen.clear();
    const groups = this.byEvent.get(event.type);
    if (!groups?.size) return;
    for (const group of groups) {
      const subject = group.field.subject(event);
      if (![...group.subscribers].some((s) => s.filter(subject))) continue;
      this.schedule(group, group.field.entityKey(event), group.field.terminal(event), subject);
    }
  }

  private schedule(group: Group, entity: string, terminal: boolean, subject: ReturnType<SubscriptionField['subject']>): void {
    const state = group.entities.get(entity) ?? { delivered: null, lastRun: 0, running: false, dirty: false, terminal: false, timer: null };
    group.entities.set(entity, state);
    state.terminal ||= terminal;
    if (state.running) {
      state.dirty = true;
      return;
    }
    const wait = state.terminal ? 0 : Math.max(0, state.lastRun + this.coalesceMs - Date.now());
    if (state.timer) {
      if (!state.terminal) return; // already due; that run will see the latest state
      clearTimeout(state.timer);
    }
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.run(group, entity, state, subject);
    }, wait);
  }

  private async run(group: Group, entity: string, state: EntityState, subject: ReturnType<SubscriptionField['subject']>): Promise<void> {
    state.running = true;
    state.dirty = false;
    const terminal = state.terminal;
    let result: ExecutionResult;
    // Any member with a valid token sees what every member sees (same scope); a member whose token has
    // expired is ending on its own timer and never lends its token to the others.
    const now = Date.now() / 1000;
    const runAs = [...group.subscribers].find((s) => s.identity.expiresAt === null || s.identity.expiresAt > now)?.identity;
    if (!runAs) {
      state.running = false;
      if (terminal) group.entities.delete(entity);
      return;
    }
    try {
      const response = await this.options.execute(group.query, { ...group.variables, __key: entity }, runAs);
      const payload = response.data ? { [group.field.name]: { [group.field.payloadField]: response.data.__entity ?? null } } : null;
      result = {
        data: payload,
        ...(response.errors?.length
          ? { errors: response.errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions })) }
          : {}),
      };
    } catch (error) {
      log.error({ err: error }, 'payload query failed');
      result = { errors: [new DomainError('INTERNAL_SERVER_ERROR', 'Internal server error')] };
    }
    const text = JSON.stringify(result);
    Object.defineProperty(result, SERIALIZED, { value: text });
    if (text !== state.delivered) {
      state.delivered = text;
      for (const subscriber of group.subscribers) if (subscriber.filter(subject)) subscriber.push(result, terminal);
    }
    state.running = false;
    state.lastRun = Date.now();
    if (terminal) {
      group.entities.delete(entity);
      return;
    }
    if (state.dirty) this.schedule(group, entity, state.terminal, subject);
  }
}

function pickOperation(document: DocumentNode, name?: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return name ? operations.find((o) => o.name?.value === name) : operations.length === 1 ? operations[0] : undefined;
}

/**
 * `subscription S($pbxId: ID) { migrationProgress(pbxId: $pbxId) { migration { ...sel } } }`
 * becomes `query S($__key: ID!, <used vars>) { __entity: migration(id: $__key) { ...sel } }`
 * with the document's fragments; what lies beside the entity field in the
 * payload (only __typename can) is answered by the engine.
 */
export function deriveQuery(document: DocumentNode, operation: OperationDefinitionNode, root: FieldNode, field: SubscriptionField): string {
  const entityField = root.selectionSet?.selections.find(
    (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === field.payloadField,
  );
  const selection = entityField?.selectionSet ? print(entityField.selectionSet) : '{ __typename }';
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION);
  const body = `{ __entity: ${field.entityQuery} ${selection} }`;
  const used = new Set<string>();
  const collect = (text: string) => visit(parseSelection(text), { Variable: (node) => void used.add(node.name.value) });
  collect(body);
  for (const fragment of fragments) collect(`{ ...${fragment.name.value} } ${print(fragment)}`);
  const variables = (operation.variableDefinitions ?? [])
    .filter((v: VariableDefinitionNode) => used.has(v.variable.name.value))
    .map((v) => print(v));
  return [
    `query ${operation.name?.value ?? 'Subscription'}Payload(${['$__key: ID!', ...variables].join(', ')}) ${body}`,
    ...fragments.map((f) => print(f)),
  ].join('\n');
}

/** Parsed only to find the variables a selection uses. */
const parseSelection = (text: string): DocumentNode => parse(text, { noLocation: true });

function valueOf(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
      return Number(node.value);
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    case Kind.NULL:
      return null;
    default:
      return undefined;
  }
}

const badRequest = (message: string) => new DomainError('BAD_USER_INPUT', message);

function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const e = error as { message?: string; extensions?: Record<string, unknown> };
  return new GraphQLError(e.message ?? 'Internal server error', { extensions: e.extensions ?? { code: 'INTERNAL_SERVER_ERROR' } });
}
