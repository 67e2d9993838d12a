// The peer "Apollo Server + @apollo/gateway, defaults": what the Apollo docs set up,
// plus forwarding the caller's Authorization header (the subgraphs verify it).
// Env: PORT, SUPERGRAPH_FILE.
import fs from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

class AuthForwarding extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) request.http.headers.set('authorization', context.authorization);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: fs.readFileSync(process.env.SUPERGRAPH_FILE, 'utf8'),
  buildService: ({ url }) => new AuthForwarding({ url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`apollo gateway listening on ${url}`);
