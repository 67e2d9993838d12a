import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import {
  DocumentNode,
  ExecutionResult,
  getOperationAST,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLSchema,
  NoSchemaIntrospectionCustomRule,
  OperationDefinitionNode,
  specifiedRules,
  validate,
  ValidationRule,
} from 'graphql';
import { DomainError, toContractError } from '../kernel/errors';
import { parseOptionsFor, parseWithinLimits, QueryLimits } from '../kernel/graphql/limits';
import { serviceLogger } from '../kernel/log';
import { GatewayContext, GatewayPlugin, GatewayRequest } from './plugins/types';

const log = serviceLogger('gateway');

export interface PipelineOptions {
  gateway: ApolloGateway;
  /** the public API schema, for operations Apollo does not run (subscriptions) */
  apiSchema: GraphQLSchema;
  limits: QueryLimits;
  introspection: boolean;
  /** "Did you mean" hints in validation errors */
  suggestions: boolean;
  plugins: readonly GatewayPlugin[];
}

/** An operation a streaming transport may go on with: parsed, validated, charged. */
export interface Admitted {
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

/**
 * The one request pipeline of the gateway. HTTP requests go through Apollo
 * Server (`server`); queries and mutations sent over WebSocket or SSE go
 * through the same server (`execute`); subscriptions, which Apollo never
 * sees, are admitted by `admit` with the same hooks, limits, validation and
 * error shaping. Every plugin runs for every client operation, whatever its
 * transport, with the caller's own identity.
 */
export class Pipeline {
  readonly server: ApolloServer<GatewayContext>;
  private readonly rules: readonly ValidationRule[];

  constructor(private readonly options: PipelineOptions) {
    this.rules = [
      ...options.plugins.flatMap((p) => p.validationRules ?? []),
      ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ];
    this.server = new ApolloServer<GatewayContext>({
      gateway: options.gateway,
      introspection: options.introspection,
      hideSchemaDetailsFromClientErrors: !options.suggestions,
      includeStacktraceInErrorResponses: false,
      parseOptions: parseOptionsFor(options.limits),
      validationRules: [...options.plugins.flatMap((p) => p.validationRules ?? [])],
      // The API takes bearer tokens, never cookies: a cross-site request carries no credentials, so
      // Apollo's CSRF prevention (which refuses plain GETs) protects nothing here and breaks GET for queries.
      csrfPrevention: false,
      // Shutdown is ours (kernel/lifecycle.ts): Apollo's signal handler would end the process before requests drain.
      stopOnTerminationSignals: false,
      formatError: (formatted, error) => {
        const shaped = toContractError(formatted, error);
        // A subgraph that could not answer is logged once per fetch by the subgraph client, not once per field.
        if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR' && !shaped.extensions.subgraph)
          log.error({ err: error }, 'operation failed');
        return shaped;
      },
      // No cache hints are set anywhere: the cache-control plugin would only cost time.
      plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), requestShape, ...options.plugins],
    });
  }

  /**
   * Every plugin's `onRequest`, in order (size, rate limit, ...): before
   * Apollo sees an operation (it masks what its first hooks throw as 500s),
   * for HTTP (the /graphql route's `admit`) and the streaming transports.
   */
  async onRequest(request: GatewayRequest, context: GatewayContext): Promise<void> {
    for (const plugin of this.options.plugins) await plugin.onRequest?.(request, context);
  }

  /** The HTTP route's `admit`: a request whose query is not a string is Apollo's to refuse (400). */
  readonly admitHttp = async (
    raw: { query?: unknown; variables?: unknown; operationName?: unknown },
    context: GatewayContext,
  ): Promise<void> => {
    if (typeof raw.query !== 'string') return;
    let variables: unknown = raw.variables;
    if (typeof variables === 'string') {
      try {
        variables = JSON.parse(variables); // GET: JSON in the search parameters
      } catch {
        variables = null; // Apollo refuses it with 400
      }
    }
    const request = {
      query: raw.query,
      variables: variables && typeof variables === 'object' ? (variables as Record<string, unknown>) : null,
      operationName: typeof raw.operationName === 'string' ? raw.operationName : null,
    };
    await this.onRequest(request, context);
  };

  /** Runs a query or mutation through Apollo as the caller; refusals come back as shaped errors. */
  async execute(
    request: GatewayRequest,
    context: GatewayContext,
  ): Promise<{ data: Record<string, unknown> | null; errors?: GraphQLFormattedError[] }> {
    try {
      await this.onRequest(request, context);
      const response = await this.server.executeOperation(
        { query: request.query, variables: request.variables ?? {}, operationName: request.operationName ?? undefined },
        { contextValue: context },
      );
      if (response.body.kind !== 'single') throw new Error('incremental delivery is not supported here');
      const result = response.body.singleResult;
      return {
        data: (result.data ?? null) as Record<string, unknown> | null,
        ...(result.errors?.length ? { errors: [...result.errors] } : {}),
      };
    } catch (error) {
      // A hook refused the request before Apollo's own error handling (size, rate limit).
      if (error instanceof GraphQLError) return { data: null, errors: [this.shape(error)] };
      throw error;
    }
  }

  /**
   * Admits a subscription from a streaming transport: the plugins' hooks
   * (size, rate limit), parsing under the token cap, and validation with the
   * same rules as HTTP. Returns the parsed operation or shaped errors.
   */
  async admit(request: GatewayRequest, context: GatewayContext): Promise<Admitted | { errors: GraphQLError[] }> {
    try {
      await this.onRequest(request, context);
      const document = parseWithinLimits(request.query, this.options.limits);
      const errors = validate(this.options.apiSchema, document, [...specifiedRules, ...this.rules]);
      if (errors.length) return { errors: errors.map((e) => this.asError(e)) };
      const operation = getOperationAST(document, request.operationName ?? undefined);
      if (!operation)
        return {
          errors: [
            new DomainError(
              'BAD_USER_INPUT',
              request.operationName
                ? `No operation named '${request.operationName}' in the document`
                : 'Name the operation to run (operationName): the document has several',
            ),
          ],
        };
      return { document, operation };
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [this.asError(error)] };
      throw error;
    }
  }

  /** Parses under the limits only: how a transport tells a subscription from a query before choosing a path. */
  parse(request: GatewayRequest): { document: DocumentNode; operation: OperationDefinitionNode | null } | { errors: GraphQLError[] } {
    try {
      const document = parseWithinLimits(request.query, this.options.limits);
      return { document, operation: getOperationAST(document, request.operationName ?? undefined) ?? null };
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [this.asError(error)] };
      throw error;
    }
  }

  /** The contract's shape of an error, as a GraphQLError the streaming libraries serialise. */
  asError(error: GraphQLError): GraphQLError {
    const shaped = this.shape(error);
    return new GraphQLError(shaped.message, { extensions: shaped.extensions });
  }

  private shape(error: GraphQLError): GraphQLFormattedError {
    const formatted = error.toJSON();
    const code =
      error instanceof DomainError
        ? error.code
        : (formatted.extensions?.code ?? (error.originalError ? undefined : 'GRAPHQL_VALIDATION_FAILED'));
    const shaped = toContractError({ ...formatted, extensions: { ...formatted.extensions, ...(code ? { code } : {}) } }, error);
    return this.options.suggestions ? shaped : { ...shaped, message: shaped.message.replace(/ ?Did you mean(.+?)\?$/, '') };
  }
}

/** A formatted error (what Apollo answers) back into a GraphQLError for graphql-ws / graphql-sse. */
export function fromFormatted(error: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(error.message, { extensions: error.extensions, path: error.path });
}

/**
 * Requests whose shape names no operation to run (two operations and no
 * operationName, or a name that matches none) are the caller's mistake:
 * 400 BAD_USER_INPUT before the gateway plans anything (Apollo would fail
 * later, as a 500).
 */
const requestShape: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, request, document }) {
        if (operation) return;
        const named = request.operationName;
        const count = document.definitions.filter((d) => d.kind === 'OperationDefinition').length;
        const message = named
          ? `No operation named '${named}' in the document`
          : count > 1
            ? 'The document has several operations: name the one to run (operationName)'
            : 'The document has no operation to run';
        throw new DomainError('BAD_USER_INPUT', message, { http: { status: 400 } });
      },
    };
  },
};

export type { ExecutionResult };
