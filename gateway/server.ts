import { IncomingMessage } from 'node:http';
import { ApolloGateway, GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { SubgraphName } from '../kernel/config';
import { toContractError } from '../kernel/errors';
import { apolloRoute, healthRoute, listen, Route, RunningHttpServer } from '../kernel/http';
import { Identity, TokenVerifier } from '../kernel/identity';
import { complexityRule, DEFAULT_LIMITS, documentSizePlugin, QueryLimits, rateLimitPlugin } from './limits';

/** The gateway's request context: who is calling, verified once here and again by each subgraph. */
export interface GatewayContext {
  identity: Identity;
}

/** Forwards the caller's own bearer token; subgraphs verify it themselves. */
class IdentityForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const identity = (context as Partial<GatewayContext>).identity;
    if (identity) request.http?.headers.set('authorization', identity.authorization);
  }
}

export interface GatewayOptions {
  port: number;
  host?: string;
  supergraphSdl: string;
  /** the URL of each subgraph's /graphql here (overrides the checked-in supergraph's) */
  subgraphUrls: Partial<Record<SubgraphName, string>>;
  verifier: TokenVerifier;
  limits?: QueryLimits;
  rateLimit?: { perMinute: number; burst: number };
  /** extra routes served before /graphql (IDE, REST) */
  routes?: Route[];
}

export interface RunningGateway {
  url: string;
  http: RunningHttpServer;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new IdentityForwardingDataSource({ url: options.subgraphUrls[name as SubgraphName] ?? url }),
  });
  const limits = options.limits ?? DEFAULT_LIMITS;
  const rate = options.rateLimit ?? { perMinute: 6000, burst: 1000 };
  const server = new ApolloServer<GatewayContext>({
    gateway,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [complexityRule(limits)],
    formatError: (formatted, error) => {
      const shaped = toContractError(formatted, error);
      if (shaped.extensions?.code === 'INTERNAL_SERVER_ERROR') console.error('[gateway]', error);
      return shaped;
    },
    plugins: [ApolloServerPluginLandingPageDisabled(), documentSizePlugin(limits), rateLimitPlugin(rate.perMinute, rate.burst)],
  });
  await server.start();
  const context = async (req: IncomingMessage): Promise<GatewayContext> => ({ identity: options.verifier.verify(req.headers.authorization) });
  const http = await listen(options.port, [
    healthRoute(async () => true),
    ...(options.routes ?? []),
    apolloRoute(server, '/graphql', context),
  ], options.host ?? '0.0.0.0');
  return {
    url: `${http.url}/graphql`,
    http,
    async stop() {
      await http.close();
      await server.stop();
    },
  };
}
