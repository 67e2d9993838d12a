import { ApolloServerPlugin } from '@apollo/server';
import {
  ASTVisitor, FieldNode, FragmentDefinitionNode, getNamedType, getNullableType, GraphQLError, GraphQLNamedType, isListType, isObjectType, isInterfaceType, Kind,
  SelectionSetNode, ValidationContext,
} from 'graphql';
import { DomainError } from '../kernel/errors';
import { Identity } from '../kernel/identity';

/** The limits a single operation must stay within (contract code QUERY_TOO_COMPLEX). */
export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  /** a rough cost: every field counts 1; a list field multiplies its children by `first`, or by `unboundedListFactor` */
  maxCost: number;
  maxDocumentBytes: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxDepth: 12, maxAliases: 30, maxCost: 50_000, maxDocumentBytes: 32_000 };

/** What a list without `first` is assumed to hold, for the cost estimate (a network's PBXs, say). */
const UNBOUNDED_LIST_FACTOR = 20;

const tooComplex = (message: string) => new DomainError('QUERY_TOO_COMPLEX', message);

/** A validation rule measuring depth, aliases and cost of each operation (fragments inlined). */
export function complexityRule(limits: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

    const schema = context.getSchema();
    const fieldsOf = (type: GraphQLNamedType | undefined) => (type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : {});
    // `paged` marks the selection of a field bounded by `first`: its edges/nodes lists are that page, not another multiplier.
    const measure = (set: SelectionSetNode, depth: number, seen: Set<string>, parent: GraphQLNamedType | undefined, paged = false): { depth: number; aliases: number; cost: number } => {
      let result = { depth, aliases: 0, cost: 0 };
      for (const selection of set.selections) {
        let inner: { depth: number; aliases: number; cost: number } | null = null;
        if (selection.kind === Kind.FIELD) {
          const field = selection as FieldNode;
          // Introspection (IDEs, codegen) is deep by nature and bounded by the schema itself.
          if (field.name.value === '__schema' || field.name.value === '__type') continue;
          const definition = fieldsOf(parent)[field.name.value];
          const isList = definition ? isListType(getNullableType(definition.type)) : false;
          const hasFirst = Boolean(field.arguments?.some((a) => a.name.value === 'first'));
          const multiplier = paged && isList ? 1 : listMultiplier(field, isList);
          const child = field.selectionSet
            ? measure(field.selectionSet, depth + 1, seen, definition ? getNamedType(definition.type) : undefined, hasFirst)
            : { depth, aliases: 0, cost: 0 };
          inner = { depth: child.depth, aliases: child.aliases + (field.alias ? 1 : 0), cost: 1 + multiplier * child.cost };
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) ?? undefined : parent;
          inner = measure(selection.selectionSet, depth, seen, condition, paged);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (fragment && !seen.has(name)) inner = measure(fragment.selectionSet, depth, new Set([...seen, name]), schema.getType(fragment.typeCondition.name.value) ?? undefined, paged);
        }
        if (inner) result = { depth: Math.max(result.depth, inner.depth), aliases: result.aliases + inner.aliases, cost: result.cost + inner.cost };
      }
      return result;
    };

    return {
      OperationDefinition(node) {
        const { depth, aliases, cost } = measure(node.selectionSet, 1, new Set(), schema.getRootType(node.operation) ?? undefined);
        const problems: string[] = [];
        if (depth > limits.maxDepth) problems.push(`depth ${depth} is over ${limits.maxDepth}`);
        if (aliases > limits.maxAliases) problems.push(`${aliases} aliases are over ${limits.maxAliases}`);
        if (cost > limits.maxCost) problems.push(`estimated cost ${cost} is over ${limits.maxCost}`);
        if (problems.length) context.reportError(tooComplex(`The operation is too complex: ${problems.join('; ')}`) as GraphQLError);
      },
    };
  };
}

function listMultiplier(field: FieldNode, isList: boolean): number {
  const first = field.arguments?.find((a) => a.name.value === 'first');
  if (first?.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
  if (first) return 500; // a variable `first` may be as large as the cap
  return isList ? UNBOUNDED_LIST_FACTOR : 1;
}

/** Refuses documents over the size limit before parsing them. */
export function documentSizePlugin(limits: QueryLimits): ApolloServerPlugin<{ identity: Identity }> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request }) {
          if (request.query && Buffer.byteLength(request.query) > limits.maxDocumentBytes) {
            throw tooComplex(`The operation is ${Buffer.byteLength(request.query)} bytes; at most ${limits.maxDocumentBytes} are accepted`);
          }
        },
      };
    },
  };
}

/**
 * Per-caller token bucket (RATE_LIMITED), one per gateway: GraphQL
 * operations (rateLimitPlugin) and the other routes that do work for a caller
 * (uploads) take from the same bucket. In-process: with several gateway
 * instances each enforces its own share; a shared limiter would live in Redis.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly perMinute: number, readonly burst: number) {}

  /** Takes one token for the caller; throws RATE_LIMITED when none is left. */
  take(identity: Pick<Identity, 'role' | 'sub'>): void {
    const key = `${identity.role}:${identity.sub}`;
    const now = Date.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 60_000) * this.perMinute);
    bucket.at = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) throw new DomainError('RATE_LIMITED', `Too many requests: at most ${this.perMinute} a minute; try again in a few seconds`);
    bucket.tokens -= 1;
  }
}

export function rateLimitPlugin(limiter: RateLimiter): ApolloServerPlugin<{ identity: Identity }> {
  return {
    async requestDidStart() {
      return { didResolveOperation: async ({ contextValue }) => void ((contextValue as { internal?: boolean }).internal || limiter.take(contextValue.identity)) };
    },
  };
}
