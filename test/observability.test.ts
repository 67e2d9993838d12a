import { createHash } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { captureLogs, CapturedLogs } from '../kernel/log';
import { installTracing, TracingHandle } from '../kernel/tracing';
import { listen } from '../kernel/http';
import { ServiceMetrics, metricsRoute } from '../kernel/metrics';
import { contractDocument, contractOperation } from './support/operations';
import { createCustomer, createNetwork, registerPbx, serial } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

/**
 * Items 5-7 of issue 11 through the whole stack: one JSON log line per request
 * with the request id the gateway accepted (or made), forwarded to and logged
 * by the subgraphs, and no tokens or personal data in any line; /metrics on
 * every service; one trace over gateway -> subgraph fetch -> SQL.
 */
const DASHBOARD = contractDocument('NetworkDashboard.graphql');
const ACTIVATE = contractOperation('Lifecycle.graphql', 'ActivateCds');
const BEGIN = `mutation Begin($id: ID!, $inventory: [CategoryInventoryInput!]!) {
  beginMigrationRun(migrationId: $id, inventory: $inventory) { runToken } }`;
const REPORT_ITEMS = `mutation Report($pbx: ID!, $id: ID!, $token: String!, $items: [VerifiedItemInput!]!, $recordings: [MigratedRecordingInput!]!) {
  registerRecordings(pbxId: $pbx, migrationId: $id, recordings: $recordings) { registered }
  reportMigrationProgress(migrationId: $id, runToken: $token, items: $items) { bytesDone } }`;
const RECORDINGS = contractDocument('Recordings.graphql');

const CALLER = '+49301234567';
const CALLEE = '+49307654321';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function post(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] },
  };
}

const scrape = async (base: string) => {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/text\/plain/);
  return response.text();
};

/** The value of one sample line, e.g. sample(text, 'cds_x_total{a="b"}'); labels in the order prom-client prints them. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = line.slice(name.length);
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('observability', () => {
  let stack: TestStack;
  let logs: CapturedLogs;
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle | null;
  const vm = serial(1, 'b5');

  beforeAll(async () => {
    tracing = installTracing({ serviceName: 'cds-graph-test', exporter });
    process.env.CDS_STORES = 'eu-central-1=file:/tmp/cds-observability-test/eu-central-1';
    stack = await startTestStack();
    delete process.env.CDS_STORES;
    await createCustomer(stack, 'obs');
    await createNetwork(stack, 'obs', 'obs-net');
    await registerPbx(stack, { id: vm, customerId: 'obs', networkId: 'obs-net', kind: 'VIRTUAL' as never, wmsVersion: '6.05.20231120.1' });
    await stack.settle();
    logs = captureLogs('info');
  });
  afterAll(async () => {
    logs?.restore();
    await stack?.stop();
    await tracing?.shutdown();
  });

  const subgraphBase = (name: keyof TestStack['subgraphs']) => stack.subgraphs[name].url.replace(/\/graphql$/, '');
  const gatewayBase = () => stack.gatewayUrl.replace(/\/graphql$/, '');

  it('logs one line per request with the request id the gateway accepts, forwards and returns; no tokens or personal data', async () => {
    const pbxToken = tokens.pbx(vm);
    const adminToken = tokens.admin();
    // A migration's report carrying recordings with callers and callees: personal data travelling in variables
    // (refused: CDS chooses object keys, and these are not its keys; the variables reached the gateway all the same).
    const activated = await post(stack.gatewayUrl, ACTIVATE, { pbxId: vm }, pbxToken, { 'x-request-id': 'obs-activate-1' });
    expect(activated.headers.get('x-request-id')).toBe('obs-activate-1');
    const migrationId = (activated.body.data as { activateCompanyDataStorage: { migration: { id: string } } }).activateCompanyDataStorage
      .migration.id;
    const begun = await post(
      stack.gatewayUrl,
      BEGIN,
      { id: migrationId, inventory: [{ category: 'CALL_RECORDINGS', itemsTotal: 1, bytesTotal: 4096 }] },
      pbxToken,
    );
    const runToken = (begun.body.data as { beginMigrationRun: { runToken: string } }).beginMigrationRun.runToken;
    const path = 'recordings/2024/05/call.wav';
    const reported = await post(
      stack.gatewayUrl,
      REPORT_ITEMS,
      {
        pbx: vm,
        id: migrationId,
        token: runToken,
        items: [
          { category: 'CALL_RECORDINGS', sourcePath: path, objectKey: `${vm}/CALL_RECORDINGS/${path}`, sizeBytes: 4096, sha256: sha(path) },
        ],
        recordings: [
          {
            sourcePath: path,
            callId: 'c-1',
            startedAt: '2024-05-01T10:00:00Z',
            durationSeconds: 30,
            sizeBytes: 4096,
            caller: CALLER,
            callee: CALLEE,
            sha256: sha(path),
            objectKey: `${vm}/CALL_RECORDINGS/${path}`,
          },
        ],
      },
      pbxToken,
      { 'x-request-id': 'obs-report-1' },
    );
    expect(reported.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const listed = await post(stack.gatewayUrl, RECORDINGS, { pbxId: vm }, adminToken, { 'x-request-id': 'obs-recordings-1' });
    expect(listed.body.errors).toBeUndefined();

    // A request id that is too long or has odd characters is replaced, never echoed.
    const odd = await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, adminToken, { 'x-request-id': 'bad id <script>' });
    const made = odd.headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    const long = await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, adminToken, { 'x-request-id': 'x'.repeat(129) });
    expect(long.headers.get('x-request-id')).not.toBe('x'.repeat(129));
    const unauthenticated = await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, 'not-a-jwt', {
      'x-request-id': 'obs-unauth-1',
    });
    expect(unauthenticated.body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    await new Promise((resolve) => setTimeout(resolve, 50)); // the last lines are written when each response closes
    const lines = logs.lines();
    const text = logs.text();
    const requestLines = (id: string) => lines.filter((l) => l.msg === 'request' && l.requestId === id);

    // The gateway's line and each involved subgraph's line carry the same id.
    const report = requestLines('obs-report-1');
    expect(report.find((l) => l.service === 'gateway')).toMatchObject({
      level: 30,
      method: 'POST',
      path: '/graphql',
      status: 200,
      operation: 'Report',
      type: 'mutation',
      outcome: 'error',
      errors: ['BAD_USER_INPUT', 'BAD_USER_INPUT'],
    });
    expect(report.map((l) => l.service)).toEqual(expect.arrayContaining(['gateway', 'storage', 'recordings']));
    for (const line of report) expect(typeof line.ms).toBe('number');
    expect(requestLines('obs-recordings-1').map((l) => l.service)).toEqual(expect.arrayContaining(['gateway', 'recordings']));
    expect(requestLines(made!).filter((l) => l.service === 'gateway')).toHaveLength(1);
    expect(lines.some((l) => String(l.requestId).includes('script'))).toBe(false);
    expect(requestLines('obs-unauth-1').find((l) => l.service === 'gateway')).toMatchObject({
      outcome: 'refused',
      errors: ['UNAUTHENTICATED'],
    });
    // Every line is JSON with a numeric level and a time.
    for (const line of lines) expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(String) }));

    // Nothing secret or personal: no token, no Authorization header, no caller or callee, no variables.
    for (const secret of [pbxToken, adminToken, runToken, 'Bearer ', CALLER, CALLEE, 'c-1"']) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/authorization/i);
    expect(lines.some((l) => 'variables' in l)).toBe(false);
  });

  it('serves /metrics on every service: requests, subgraph fetches, refusals, subscriptions, outbox and event lag, agent runs', async () => {
    // A refused request (over the depth limit) and a partial-or-failed one.
    const deep = `{ ${'network(id: "obs-net") { pbxs { network { '.repeat(4)}id${' } } }'.repeat(4)} }`;
    const refused = await post(stack.gatewayUrl, deep, {}, tokens.admin());
    expect(refused.body.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, tokens.admin());
    await stack.settle();

    const gateway = await scrape(gatewayBase());
    expect(
      sample(gateway, 'cds_graphql_request_duration_seconds_count', { service: 'gateway', operation: 'NetworkDashboard', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(gateway, 'cds_graphql_request_duration_seconds_bucket', { operation: 'NetworkDashboard', outcome: 'ok', le: '+Inf' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(gateway, 'cds_graphql_request_duration_seconds_count', { operation: 'Report', outcome: 'error' })).toBe(1);
    expect(sample(gateway, 'cds_refused_requests_total', { reason: 'QUERY_TOO_COMPLEX' })).toBeGreaterThanOrEqual(1);
    expect(sample(gateway, 'cds_refused_requests_total', { reason: 'UNAUTHENTICATED' })).toBeGreaterThanOrEqual(1);
    for (const subgraph of ['network', 'storage', 'licensing']) {
      expect(sample(gateway, 'cds_subgraph_fetch_duration_seconds_count', { subgraph, outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    }
    expect(sample(gateway, 'cds_active_subscriptions')).toBe(0);
    expect(sample(gateway, 'cds_websocket_connections')).toBe(0);
    expect(sample(gateway, 'cds_open_connections', { transport: 'http' })).toBeGreaterThanOrEqual(0);

    const storage = await scrape(subgraphBase('storage'));
    // A subgraph sees the operation the gateway's query plan sent it, named after the client's.
    expect(storage).toMatch(
      /cds_graphql_request_duration_seconds_count\{[^}]*operation="Report__storage__\d+",outcome="(error|partial)"[^}]*\} 1/,
    );
    expect(sample(storage, 'cds_agent_runs_total', { outcome: 'started' })).toBe(1);
    expect(sample(storage, 'cds_outbox_backlog')).toBe(0);
    expect(sample(storage, 'cds_event_lag', { consumer: 'storage' })).toBe(0);
    // Each service has its own registry: the storage page holds no gateway series, and the reverse.
    expect(storage).not.toContain('service="gateway"');
    expect(gateway).not.toContain('service="storage"');
    for (const name of ['network', 'recordings', 'licensing'] as const) {
      expect(await scrape(subgraphBase(name))).toContain(`cds_outbox_backlog{service="${name}"}`);
    }
  });

  it('records one trace per request over the gateway, each subgraph fetch and each SQL statement', async () => {
    exporter.reset();
    const answer = await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, tokens.admin());
    expect(answer.body.errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spans = exporter.getFinishedSpans();
    const root = spans.find(
      (s) =>
        s.kind === SpanKind.SERVER &&
        s.attributes['cds.service'] === 'gateway' &&
        s.attributes['graphql.operation.name'] === 'NetworkDashboard',
    );
    expect(root).toBeDefined();
    const traceId = root!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '');
    const ancestors = (s: ReadableSpan) => {
      const chain: ReadableSpan[] = [];
      for (let p = parentOf(s); p; p = parentOf(p)) chain.push(p);
      return chain;
    };

    expect(root!.parentSpanContext).toBeUndefined();
    const fetches = inTrace.filter((s) => s.name === 'gateway.fetch');
    expect(fetches.map((s) => s.attributes.service)).toEqual(expect.arrayContaining(['network', 'storage', 'licensing']));
    // Each subgraph's server span continues the trace below a gateway.fetch span (traceparent crossed HTTP).
    const subgraphSpans = inTrace.filter((s) => s.kind === SpanKind.SERVER && s.attributes['cds.service'] !== 'gateway');
    expect(new Set(subgraphSpans.map((s) => s.attributes['cds.service']))).toEqual(new Set(['network', 'storage', 'licensing']));
    for (const span of subgraphSpans) expect(parentOf(span)?.name).toBe('gateway.fetch');
    // SQL statements nest below a subgraph's server span, with their text and never their parameters.
    const sql = inTrace.filter((s) => s.name.startsWith('SQL '));
    expect(sql.length).toBeGreaterThan(0);
    for (const span of sql) {
      expect(ancestors(span).some((a) => subgraphSpans.includes(a))).toBe(true);
      expect(ancestors(span).at(-1)).toBe(root);
      expect(span.attributes['db.statement']).toEqual(expect.any(String));
      expect(JSON.stringify(span.attributes)).not.toContain('obs-net');
    }
    // A caller's own traceparent does not make the public gateway join its trace.
    exporter.reset();
    await post(stack.gatewayUrl, DASHBOARD, { networkId: 'obs-net' }, tokens.admin(), {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exporter.getFinishedSpans().some((s) => s.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c')).toBe(false);
  });

  it('guards /metrics with a token when one is set, and serves nothing when turned off', async () => {
    const metrics = new ServiceMetrics('probe');
    metrics.counter('cds_probe_total', 'a probe').inc();
    const server = await listen(0, [metricsRoute(metrics, { enabled: true, token: 's3cret-metrics' })], '127.0.0.1');
    const off = await listen(0, [metricsRoute(metrics, { enabled: false })], '127.0.0.1');
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer s3cret-metrics' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('cds_probe_total{service="probe"} 1');
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    } finally {
      await server.close();
      await off.close();
    }
  });
});
