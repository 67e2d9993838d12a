import 'reflect-metadata';
import path from 'node:path';
import { ConfigError, DEFAULT_PORTS, loadConfig } from '../kernel/config';
import { stopOnTerminationSignals } from '../kernel/lifecycle';
import { signToken } from '../kernel/identity';
import { ideRoute } from '../gateway/ide';
import { DEMO_NETWORK_ID, NETWORK_DASHBOARD_QUERY, seedDemoData } from './demo-data';
import { startStack } from './stack';
import { installTracing } from '../kernel/tracing';

/**
 * `npm start`: the gateway and the four subgraphs on the embedded database
 * (SQLite files in .data/, or DATA_DIR), with a demo dataset on first start.
 * With NODE_ENV=production it serves no IDE and prints no token.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.jwt.keys.kind !== 'secret')
    throw new Error('npm start signs its demo tokens with JWT_SECRET (HS256); unset JWT_PUBLIC_KEY and JWKS_URL');
  const secret = config.jwt.keys.secret;
  const dataDir = config.dataDir ?? path.join(process.cwd(), '.data');
  const adminToken = signToken(secret, { sub: 'dev-admin', role: 'admin' }, 30 * 24 * 3600);
  const demoNetworkId = DEMO_NETWORK_ID;
  const development = !config.production;
  const tracing = installTracing({
    serviceName: config.tracing.serviceName ?? 'cds-graph',
    endpoint: config.tracing.endpoint ?? undefined,
  });
  const stack = await startStack({
    config,
    db: { kind: 'sqlite', dir: dataDir },
    jwtSecret: secret,
    gatewayPort: config.port ?? DEFAULT_PORTS.gateway,
    host: config.host,
    processMetrics: true,
    gatewayRoutes: development
      ? [
          ideRoute({
            graphqlPath: '/graphql',
            defaultToken: adminToken,
            defaultQuery: NETWORK_DASHBOARD_QUERY,
            defaultVariables: JSON.stringify({ networkId: demoNetworkId }, null, 2),
            title: 'cds-graph',
          }),
        ]
      : [],
  });
  const seeded = await seedDemoData(stack, adminToken);
  await stack.settle();
  const base = stack.gatewayUrl.replace(/\/graphql$/, '');
  const lines = [
    `cds-graph is running (embedded database in ${dataDir}${seeded.created ? ', demo data loaded' : ''})`,
    '',
    `  GraphQL endpoint   ${stack.gatewayUrl}`,
    ...(development ? [`  GraphQL IDE        ${base}/         (works offline; the admin token is pre-filled)`] : []),
    `  CDS board          ${base}/board/   (${development ? 'sign in by pasting the admin token below' : 'sign in with a token signed by your JWT_SECRET'})`,
    `  Health             ${base}/health, ${base}/ready`,
    ...(config.metrics.enabled ? [`  Metrics            ${base}/metrics (each subgraph serves its own too)`] : []),
    ...(tracing ? [`  Traces             exported over OTLP to ${config.tracing.endpoint}`] : []),
    `  Subgraphs          ${Object.values(stack.subgraphs)
      .map((s) => `${s.name} ${s.url}`)
      .join(', ')}`,
    '',
    ...(development
      ? [
          `  Development admin token (valid 30 days, JWT_SECRET=${process.env.JWT_SECRET ? '<from env>' : secret}):`,
          `  ${adminToken}`,
          '',
          '  Or open the board signed in as that admin (the token stays in the URL fragment, never sent to the server):',
          `  ${base}/board/#token=${adminToken}`,
          '',
          `  Try the NetworkDashboard query in the IDE with { "networkId": "${demoNetworkId}" },`,
          `  or the same network on the board: ${base}/board/networks/${demoNetworkId}`,
        ]
      : ['  NODE_ENV=production: no IDE and no printed token; sign tokens with your JWT_SECRET.']),
    '  Logs are JSON lines on stdout (LOG_LEVEL=warn for fewer; pipe through npx pino-pretty to read them by eye).',
    '  Ctrl+C stops everything.',
  ];
  console.log(`\n${lines.join('\n')}\n`);
  stopOnTerminationSignals({
    name: 'cds-graph',
    timeoutMs: config.shutdownTimeoutMs,
    stop: async (timeoutMs) => {
      await stack.stop(timeoutMs);
      await tracing?.shutdown();
    },
  });
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
