import { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { DocumentNode, GraphQLError, Kind, OperationDefinitionNode, parse, SelectionSetNode } from 'graphql';
import { subgraphUnavailable } from '../kernel/errors';

/**
 * Partial answers (docs/partial-answers.md): when a subgraph is down, slow or
 * failing, the fetch the gateway sent it answers with one error per field it
 * was asked for, each with the path of that field, instead of throwing. The
 * gateway then serves everything the other subgraphs answered; the failing
 * subgraph's fields are null (they are nullable for this), each with an error
 * that names the subgraph in `extensions.subgraph`. Nothing is cached about a
 * failure, so the next request tries the subgraph again: recovery needs no
 * restart.
 *
 * Why not Apollo's own handling: a thrown fetch error reaches the client
 * without a path or the subgraph's name ("INTERNAL_SERVER_ERROR" and nothing
 * else), so a client cannot tell which fields are missing or why.
 */

export type FailureReason = 'TIMEOUT' | 'UNAVAILABLE' | 'FAILED';

/** What went wrong, in the words a client gets. */
export function classify(error: unknown): FailureReason {
  for (
    let e = error as { name?: string; code?: string; type?: string; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (e.name === 'TimeoutError' || e.type === 'aborted' || e.name === 'AbortError') return 'TIMEOUT';
    if (
      e.code === 'ECONNREFUSED' ||
      e.code === 'ECONNRESET' ||
      e.code === 'EPIPE' ||
      e.code === 'ENOTFOUND' ||
      e.code === 'EHOSTUNREACH' ||
      e.code === 'UND_ERR_SOCKET' ||
      e.type === 'system'
    )
      return 'UNAVAILABLE';
  }
  return 'FAILED';
}

/**
 * The response a failed fetch answers with: one error per field the fetch
 * selected, paths relative to the fetch (`_entities/<i>/<field>` for entity
 * fetches, which the gateway maps onto the client's response paths).
 */
export function failedFetchResponse(
  subgraph: string,
  reason: FailureReason,
  timeoutMs: number,
  options: GraphQLDataSourceProcessOptions,
): { errors: GraphQLError[] } {
  const message =
    reason === 'TIMEOUT'
      ? `The ${subgraph} subgraph did not answer within ${timeoutMs} ms`
      : reason === 'UNAVAILABLE'
        ? `The ${subgraph} subgraph is unavailable`
        : `The ${subgraph} subgraph failed to answer`;
  const error = (path: (string | number)[] | undefined) => subgraphUnavailable(message, subgraph, reason, path);
  const document = documentOf(options);
  const operation = document?.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) return { errors: [error(undefined)] };
  const entities = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD && s.name.value === '_entities');
  if (entities?.kind === Kind.FIELD && entities.selectionSet) {
    const representations = (options.request.variables?.representations ?? []) as { __typename?: string }[];
    const errors: GraphQLError[] = [];
    representations.forEach((representation, index) => {
      for (const key of responseKeys(entities.selectionSet!, representation.__typename)) errors.push(error(['_entities', index, key]));
    });
    return { errors: errors.length ? errors : [error(undefined)] };
  }
  const keys = responseKeys(operation.selectionSet, undefined);
  return { errors: keys.length ? keys.map((key) => error([key])) : [error(undefined)] };
}

function documentOf(options: GraphQLDataSourceProcessOptions): DocumentNode | null {
  if ('document' in options && options.document) return options.document;
  try {
    return options.request.query ? parse(options.request.query) : null;
  } catch {
    return null;
  }
}

/** The response keys a selection set asks for on `typename` (inline fragments of other types left out), without __typename. */
function responseKeys(selectionSet: SelectionSetNode, typename: string | undefined): string[] {
  const keys = new Set<string>();
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') keys.add(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition?.name.value;
      if (!on || !typename || on === typename) for (const key of responseKeys(selection.selectionSet, typename)) keys.add(key);
    }
  }
  return [...keys];
}
