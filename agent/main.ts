import { stat } from 'node:fs/promises';
import path from 'node:path';
import { GraphQLClient } from './api';
import { AgentError, usageError } from './errors';
import { acquireLock } from './lock';
import { migrate } from './migrate';
import { CdsApi } from './operations';
import { ProgressDisplay } from './progress';
import { DEFAULT_RETRY_MS, Retrier } from './retry';
import { purge } from './purge';

/** Where the development stack (`npm start`) listens. */
const DEFAULT_GATEWAY = 'http://127.0.0.1:4000/graphql';

const USAGE = `Usage: npm run cds-agent -- --pbx SERIAL --source DIR [--gateway URL] [options]

Moves a PBX's recordings and backups from DIR into Company Data Storage (CDS):
activates CDS for a VIRTUAL or HARDWARE PBX (or takes the pending migration of a
cloud PBX), copies and verifies every file, reports progress and exits 0 only when
the migration is COMPLETED. Killed and started again, it resumes.

  --pbx SERIAL        the PBX's serial (12 hexadecimal characters)
  --source DIR        the PBX's local storage (recordings/, backups/, voicemails/, faxes/)
  --gateway URL       the CDS GraphQL gateway (default: env CDS_GATEWAY, else ${DEFAULT_GATEWAY})
  --region REGION     CDS region when activating a VIRTUAL/HARDWARE PBX (default: the PBX's region)
  --purge             instead of migrating: remove local recording copies whose 7 days have
                      passed, after re-verifying their CDS copy; nothing else is removed
  --concurrency N     files hashed at once (default 16)
  --batch-size N      files per upload grant request and progress report (default 500, at most 1000)
  --retry-for SECONDS how long to keep retrying when the gateway or a service behind it is
                      unreachable, failing (5xx) or slow (default ${DEFAULT_RETRY_MS / 1000}, env CDS_RETRY_SECONDS)
  -h, --help          this text

Environment: CDS_TOKEN (required) the PBX's bearer token; CDS_GATEWAY the gateway when
--gateway is not given. Nothing else: CDS chooses where each file goes and hands out
short-lived upload grants; the PBX holds no store credential.
Exit codes: 0 done, 1 failed (one line on stderr says why), 2 usage error.`;

export interface AgentArgs {
  pbxId: string;
  sourceDir: string;
  gatewayUrl: string;
  region: string | null;
  purge: boolean;
  concurrency: number;
  batchSize: number;
  retryForMs: number;
}

/** Parses the command line; throws a usage error (exit 2) naming what is wrong. */
export function parseArgs(argv: string[]): AgentArgs | 'help' {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const takesValue = new Set(['--pbx', '--source', '--gateway', '--region', '--concurrency', '--batch-size', '--retry-for']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return 'help';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (takesValue.has(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (value.startsWith('--') && eq < 0)) throw usageError(`${name} needs a value`);
      if (values.has(name)) throw usageError(`${name} is given twice`);
      values.set(name, value);
    } else if (name === '--purge') {
      flags.add(name);
    } else {
      throw usageError(`unknown argument '${arg}'`);
    }
  }
  for (const required of ['--pbx', '--source']) {
    if (!values.has(required)) throw usageError(`${required} is required`);
  }
  if (!values.has('--gateway')) values.set('--gateway', process.env.CDS_GATEWAY?.trim() || DEFAULT_GATEWAY);
  const pbxId = values.get('--pbx')!.trim().toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(pbxId))
    throw usageError(`--pbx '${values.get('--pbx')}' is not a PBX serial (12 hexadecimal characters, like 22110001d072)`);
  let gateway: URL;
  try {
    gateway = new URL(values.get('--gateway')!);
  } catch {
    throw usageError(`--gateway '${values.get('--gateway')}' is not a URL (like http://127.0.0.1:4000/graphql)`);
  }
  if (gateway.protocol !== 'http:' && gateway.protocol !== 'https:') throw usageError('--gateway must be an http:// or https:// URL');
  if (gateway.pathname === '/' || gateway.pathname === '') gateway.pathname = '/graphql';
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    pbxId,
    sourceDir: path.resolve(values.get('--source')!),
    gatewayUrl: gateway.toString(),
    region: values.get('--region')?.trim().toLowerCase() ?? null,
    purge: flags.has('--purge'),
    concurrency: whole('--concurrency', 16, 1, 256),
    batchSize: whole('--batch-size', 500, 1, 1000),
    retryForMs: 1000 * whole('--retry-for', retryDefault(), 0, 86_400),
  };
}

function retryDefault(): number {
  const raw = process.env.CDS_RETRY_SECONDS?.trim();
  if (!raw) return DEFAULT_RETRY_MS / 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw usageError('CDS_RETRY_SECONDS must be a whole number of seconds from 0 to 86400');
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv).catch((error: unknown) => {
    if (error instanceof AgentError) {
      process.stderr.write(`cds-agent: ${oneLine(error.message)}${error.exitCode === 2 ? ' (--help shows the usage)' : ''}\n`);
      return error.exitCode;
    }
    process.stderr.write(`cds-agent: unexpected error: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    if (process.env.CDS_AGENT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  });
  process.exit(code);
}

async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const token = process.env.CDS_TOKEN?.trim();
  if (!token) throw usageError('CDS_TOKEN must hold the PBX token');
  const dir = await stat(args.sourceDir).catch(() => null);
  if (!dir?.isDirectory()) throw usageError(`--source ${args.sourceDir} is not a directory`);

  const display = new ProgressDisplay(process.stdout);
  const retrier = new Retrier({
    retryForMs: args.retryForMs,
    onWaiting: (cause, until) => display.waiting(cause, until),
    onRecovered: () => display.resumed(),
  });
  const client = new GraphQLClient(args.gatewayUrl, token, { retrier });
  const api = new CdsApi(client);
  const lock = await acquireLock(args.sourceDir, args.pbxId, args.purge ? 'purging' : 'migrating');
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupt.signal.aborted) process.exit(1); // a second Ctrl+C: stop now; the run resumes later all the same
    display.log(`${signal}: finishing the files in flight and reporting them; Ctrl+C again stops at once.`);
    interrupt.abort(new AgentError(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (args.purge) {
      const result = await purge({ pbxId: args.pbxId, sourceDir: args.sourceDir, api, log: (l) => display.log(l), concurrency: 8 });
      process.stdout.write(`${result.message}\n`);
      return 0;
    }
    const result = await migrate({
      pbxId: args.pbxId,
      sourceDir: args.sourceDir,
      region: args.region,
      api,
      gatewayUrl: args.gatewayUrl,
      authorization: client.authorization,
      retrier,
      display,
      concurrency: args.concurrency,
      batchSize: args.batchSize,
      signal: interrupt.signal,
    });
    process.stdout.write(`${result.message}\n`);
    return 0;
  } finally {
    await lock.release();
  }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
