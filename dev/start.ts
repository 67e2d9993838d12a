import 'reflect-metadata';
import path from 'node:path';
import { signToken } from '../kernel/identity';
import { ideRoute } from '../gateway/ide';
import { DEMO_NETWORK_ID, NETWORK_DASHBOARD_QUERY, seedDemoData } from './demo-data';
import { startStack } from './stack';
import { tracingFromEnv } from '../kernel/config';
import { installTracing } from '../kernel/tracing';

/**
 * `npm start`: the gateway and the four subgraphs on the embedded database
 * (SQLite files in .data/, or DATA_DIR), with a demo dataset on first start.
 */
async function main(): Promise<void> {
  const secret = process.env.JWT_SECRET ?? 'cds-graph-development-secret';
  const port = Number(process.env.PORT ?? 4000);
  const dataDir = process.env.DATA_DIR ?? path.join(process.cwd(), '.data');
  const adminToken = signToken(secret, { sub: 'dev-admin', role: 'admin' }, 30 * 24 * 3600);
  const demoNetworkId = DEMO_NETWORK_ID;
  const tracing = installTracing({ serviceName: tracingFromEnv().serviceName ?? 'cds-graph', endpoint: tracingFromEnv().endpoint });
  const stack = await startStack({
    db: { kind: 'sqlite', dir: dataDir },
    jwtSecret: secret,
    gatewayPort: port,
    host: process.env.HOST ?? '127.0.0.1',
    processMetrics: true,
    gatewayRoutes: [ideRoute({
      graphqlPath: '/graphql',
      defaultToken: adminToken,
      defaultQuery: NETWORK_DASHBOARD_QUERY,
      defaultVariables: JSON.stringify({ networkId: demoNetworkId }, null, 2),
      title: 'cds-graph',
    })],
  });
  const seeded = await seedDemoData(stack, adminToken);
  await stack.settle();
  const base = stack.gatewayUrl.replace(/\/graphql$/, '');
  console.log(`
cds-graph is running (embedded database in ${dataDir}${seeded.created ? ', demo data loaded' : ''})

  GraphQL endpoint   ${stack.gatewayUrl}
  GraphQL IDE        ${base}/         (works offline; the admin token is pre-filled)
  Health             ${base}/health, ${base}/ready
  Metrics            ${base}/metrics (each subgraph serves its own too)${tracing ? '\n  Traces             exported over OTLP to ' + tracingFromEnv().endpoint : ''}
  Subgraphs          ${Object.values(stack.subgraphs).map((s) => `${s.name} ${s.url}`).join(', ')}

  Development admin token (valid 30 days, JWT_SECRET=${process.env.JWT_SECRET ? '<from env>' : secret}):
  ${adminToken}

  Try the NetworkDashboard query in the IDE with { "networkId": "${demoNetworkId}" }.
  Logs are JSON lines on stdout (LOG_LEVEL=warn for fewer; pipe through npx pino-pretty to read them by eye).
  Ctrl+C stops everything.
`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stack.stop().then(() => tracing?.shutdown()).finally(() => process.exit(0)));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
