import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  ASTVisitor,
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  GraphQLNamedType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  ParseOptions,
  SelectionSetNode,
  ValidationContext,
  ValidationRule,
} from 'graphql';
import type { QueryLimitsConfig } from '../config';
import { DomainError } from '../errors';

/**
 * The limits every GraphQL server of the project enforces (the gateway and
 * each subgraph, so reaching a subgraph directly grants nothing more), all
 * before the work they protect and in time linear in the document:
 * - size: bytes of the document, before parsing;
 * - tokens: graphql's own `maxTokens`, while parsing;
 * - depth, aliases, directives: graphql-armor's validation rules (they count a
 *   fragment once and reuse the count at each spread);
 * - cost: the project's list-aware model (below), memoised per fragment too.
 */
export type QueryLimits = QueryLimitsConfig;

/** What a list without `first` is assumed to hold, for the cost estimate (a network's PBXs, say). */
const UNBOUNDED_LIST_FACTOR = 20;
/** A variable `first` may be as large as the page cap. */
const VARIABLE_PAGE_FACTOR = 500;

/** QUERY_TOO_COMPLEX is a refusal of the request itself: HTTP 400 wherever it is raised. */
export const tooComplex = (message: string) => new DomainError('QUERY_TOO_COMPLEX', message, { http: { status: 400 } });

/** Refuses a document over the size limit, before anything reads it. */
export function checkDocumentSize(source: string, limits: Pick<QueryLimits, 'maxDocumentBytes'>): void {
  // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: skip the count when it cannot be over.
  if (source.length * 3 <= limits.maxDocumentBytes) return;
  const bytes = Buffer.byteLength(source);
  if (bytes > limits.maxDocumentBytes) {
    throw tooComplex(`The operation is ${bytes} bytes; at most ${limits.maxDocumentBytes} are accepted`);
  }
}

/**
 * Refuses variables holding a string over the limit (BAD_USER_INPUT), before
 * they reach a resolver, a query or an error message that would echo them.
 */
export function checkVariables(variables: unknown, limits: Pick<QueryLimits, 'maxVariableStringBytes'>): void {
  const visit = (value: unknown, path: string, depth: number): void => {
    if (typeof value === 'string') {
      if (value.length * 3 > limits.maxVariableStringBytes && Buffer.byteLength(value) > limits.maxVariableStringBytes) {
        throw new DomainError(
          'BAD_USER_INPUT',
          `The variable ${path} is ${Buffer.byteLength(value)} bytes long; at most ${limits.maxVariableStringBytes} are accepted`,
          { http: { status: 400 } },
        );
      }
    } else if (value && typeof value === 'object' && depth < 64) {
      for (const [key, inner] of Object.entries(value))
        visit(inner, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, depth + 1);
    }
  };
  if (variables && typeof variables === 'object') for (const [name, value] of Object.entries(variables)) visit(value, `$${name}`, 0);
}

/** graphql's parser options: it stops after `maxTokens` tokens instead of building a huge AST. */
export const parseOptionsFor = (limits: Pick<QueryLimits, 'maxTokens'>): ParseOptions => ({ maxTokens: limits.maxTokens });

/** graphql's message when `maxTokens` stops the parser. */
export const isTokenLimitError = (message: string) => /Document contains more tha[nt] \d+ tokens/.test(message);

/**
 * Size check, then parse with the token cap: for transports that parse
 * themselves (WebSocket, SSE). Refusals are DomainErrors with contract codes.
 */
export function parseWithinLimits(source: string, limits: QueryLimits): DocumentNode {
  checkDocumentSize(source, limits);
  try {
    return parse(source, parseOptionsFor(limits));
  } catch (error) {
    const message = (error as Error).message;
    if (isTokenLimitError(message)) throw tooComplex(`The operation has more than ${limits.maxTokens} tokens`);
    throw new DomainError('BAD_USER_INPUT', message);
  }
}

/** Reports an armor refusal as the contract's QUERY_TOO_COMPLEX. */
const armorOptions = (n: number) => ({
  n,
  exposeLimits: true,
  propagateOnRejection: false,
  onAccept: [],
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      context?.reportError(tooComplex(`The operation is too complex: ${error.message.replace(/^Syntax Error: /, '')}`));
    },
  ],
});

/** The validation rules of the limits: depth, aliases, directives (graphql-armor) and cost (ours). */
export function limitRules(limits: QueryLimits): ValidationRule[] {
  return [
    maxDepthRule({ ...armorOptions(limits.maxDepth), flattenFragments: true, ignoreIntrospection: true }) as unknown as ValidationRule,
    maxAliasesRule(armorOptions(limits.maxAliases)) as unknown as ValidationRule,
    maxDirectivesRule(armorOptions(limits.maxDirectives)) as unknown as ValidationRule,
    costRule(limits.maxCost),
  ];
}

/**
 * The estimated cost of each operation: every field counts 1; a list field
 * multiplies its selection by `first` (500 for a variable), or by 20 without
 * one; the edges/nodes lists inside a field bounded by `first` are that page,
 * not another multiplier. Each fragment is measured once per (fragment,
 * paged) and reused at every spread, so a fragment spread twice by each of
 * 24 others costs 2^24 without 2^24 steps of work.
 */
export function costRule(maxCost: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    const memo = new Map<string, number>();
    const fieldsOf = (type: GraphQLNamedType | undefined) =>
      type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : {};

    const fragmentCost = (name: string, paged: boolean): number => {
      const key = `${name}\u0000${paged}`;
      const known = memo.get(key);
      if (known !== undefined) return known;
      const fragment = fragments.get(name);
      memo.set(key, 0); // a cycle (refused by NoFragmentCyclesRule) counts nothing more
      const cost = fragment ? measure(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) ?? undefined, paged) : 0;
      memo.set(key, cost);
      return cost;
    };

    const measure = (set: SelectionSetNode, parent: GraphQLNamedType | undefined, paged: boolean): number => {
      let cost = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          // Introspection (IDEs, codegen) is bounded by the schema itself.
          if (selection.name.value === '__schema' || selection.name.value === '__type') continue;
          const definition = fieldsOf(parent)[selection.name.value];
          const isList = definition ? isListType(getNullableType(definition.type)) : false;
          const hasFirst = Boolean(selection.arguments?.some((a) => a.name.value === 'first'));
          // `_entities` (a subgraph's entry for query plans) answers one entity per representation the
          // gateway sends, each of which the gateway priced already: its selection counts once.
          const multiplier = (paged && isList) || selection.name.value === '_entities' ? 1 : listMultiplier(selection, isList);
          const child = selection.selectionSet
            ? measure(selection.selectionSet, definition ? getNamedType(definition.type) : undefined, hasFirst)
            : 0;
          cost += 1 + multiplier * child;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const condition = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? undefined) : parent;
          cost += measure(selection.selectionSet, condition, paged);
        } else {
          cost += fragmentCost(selection.name.value, paged);
        }
      }
      return cost;
    };

    return {
      OperationDefinition(node) {
        const cost = measure(node.selectionSet, schema.getRootType(node.operation) ?? undefined, false);
        if (cost > maxCost) {
          const shown = Number.isFinite(cost) && cost < 1e15 ? String(cost) : 'astronomical';
          context.reportError(tooComplex(`The operation is too complex: estimated cost ${shown} is over ${maxCost}`));
        }
      },
    };
  };
}

function listMultiplier(field: FieldNode, isList: boolean): number {
  const first = field.arguments?.find((a) => a.name.value === 'first');
  if (first?.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
  if (first) return VARIABLE_PAGE_FACTOR;
  return isList ? UNBOUNDED_LIST_FACTOR : 1;
}
