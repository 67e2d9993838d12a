import { checkDocumentSize, checkVariables, limitRules, QueryLimits } from '../../kernel/graphql/limits';
import { GatewayPlugin } from './types';

/**
 * Limits before work (QUERY_TOO_COMPLEX): the document's size before it is
 * parsed (and the length of variable strings, BAD_USER_INPUT); depth, aliases, directives and cost in validation, in time linear
 * in the document. The token cap is the parser's own (`parseOptionsFor`,
 * set on the server and in the pipeline). The subgraphs enforce the same
 * limits themselves (kernel/subgraph.ts).
 */
export function useLimits(limits: QueryLimits): GatewayPlugin {
  return {
    name: 'limits',
    validationRules: limitRules(limits),
    onRequest: (request) => {
      checkDocumentSize(request.query, limits);
      checkVariables(request.variables, limits);
    },
  };
}
