import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PbxKind } from '../kernel/domain/enums';
import { createCustomer, registerPbx } from './support/fixtures';
import { startTestStack, TestStack, tokens } from './support/harness';

/** Helpers shared by the CDS agent's tests: a stack with a file store in a temp dir, and the agent as a real child process. */

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const REGION = 'eu-central-1';

export interface AgentStack {
  stack: TestStack;
  /** temp dir holding the store and the PBXs' source trees */
  tmp: string;
  /** CDS_STORES given to the stack and the agents */
  stores: string;
  storeRoot(region?: string): string;
  stop(): Promise<void>;
}

/** Starts the stack with `CDS_STORES` pointing into a temp dir (the subgraphs read it from process.env). */
export async function startAgentStack(settings: Record<string, string> = {}): Promise<AgentStack> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cds-agent-test-'));
  const stores = `*=file:${tmp}/cds/{region}`;
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries({ CDS_STORES: stores, ...settings })) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  const stack = await startTestStack();
  await createCustomer(stack, 'agent-co');
  return {
    stack,
    tmp,
    stores,
    storeRoot: (region = REGION) => path.join(tmp, 'cds', region),
    async stop() {
      await stack.stop();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

export async function registerAgentPbx(s: AgentStack, id: string, kind: 'CLOUD' | 'VIRTUAL' | 'HARDWARE', wmsVersion = '6.05.20240301.1') {
  await registerPbx(s.stack, { id, customerId: 'agent-co', kind: PbxKind[kind], wmsVersion, region: REGION });
  await s.stack.settle();
}

export interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartedAgent {
  child: ChildProcess;
  done: Promise<AgentRun>;
  output(): { stdout: string; stderr: string };
}

/**
 * Spawns `node -r @swc-node/register agent/cli.ts ...` (what `npm run
 * cds-agent` runs) with the PBX's token. `prefix` runs it through another
 * program (setpriv); `preload` adds `-r` modules (fault injection).
 */
export function startAgent(
  s: AgentStack,
  pbxId: string,
  sourceDir: string,
  options: { extra?: string[]; prefix?: string[]; preload?: string[]; env?: Record<string, string> } = {},
): StartedAgent {
  const nodeArgs = [
    '-r',
    '@swc-node/register',
    ...(options.preload ?? []).flatMap((p) => ['-r', p]),
    'agent/cli.ts',
    '--pbx',
    pbxId,
    '--source',
    sourceDir,
    '--gateway',
    s.stack.gatewayUrl,
    ...(options.extra ?? []),
  ];
  const [command, args] = options.prefix?.length
    ? [options.prefix[0], [...options.prefix.slice(1), process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    // The agent holds only its token: no store configuration reaches it (a CDS_STORES it would read points nowhere usable).
    env: {
      ...process.env,
      CDS_TOKEN: tokens.pbx(pbxId),
      CDS_STORES: '*=file:/nonexistent/cds-agent-must-not-read-this/{region}',
      ...(options.env ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<AgentRun>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

export const runAgent = (...args: Parameters<typeof startAgent>) => startAgent(...args).done;

export const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every file under a directory (relative '/' paths), skipping the names given. */
export function listFiles(root: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (skip.includes(e.name)) continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else out.push(path.relative(root, abs).split(path.sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** Path, size and checksum of every file under a tree: a fingerprint to prove nothing changed. */
export function fingerprint(root: string, skip: string[] = ['.cds-agent']): Map<string, string> {
  return new Map(
    listFiles(root, skip).map((p) => {
      const abs = path.join(root, p);
      return [p, `${statSync(abs).size}:${sha256(abs)}`];
    }),
  );
}

export const MIGRATION_QUERY = /* GraphQL */ `
  query AgentTestPbx($pbxId: ID!) {
    pbx(id: $pbxId) {
      cds {
        state
        region
        usedBytes
        usageByCategory {
          category
          usedBytes
          itemCount
        }
      }
      currentMigration {
        id
        status
        itemsDone
        itemsTotal
      }
      migrations {
        id
        status
        trigger
        percent
        itemsDone
        itemsTotal
        bytesDone
        bytesTotal
        error
        finishedAt
        categories {
          category
          state
          itemsTotal
          itemsDone
          bytesTotal
          bytesDone
        }
      }
    }
  }
`;

export interface MigrationView {
  id: string;
  status: string;
  trigger: string;
  percent: number;
  itemsDone: number;
  itemsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  error: string | null;
  finishedAt: string | null;
  categories: { category: string; state: string; itemsTotal: number; itemsDone: number; bytesTotal: number; bytesDone: number }[];
}

export interface PbxView {
  cds: {
    state: string;
    region: string | null;
    usedBytes: number;
    usageByCategory: { category: string; usedBytes: number; itemCount: number }[];
  };
  currentMigration: { id: string; status: string; itemsDone: number; itemsTotal: number } | null;
  migrations: MigrationView[];
}

export async function pbxView(s: AgentStack, pbxId: string): Promise<PbxView> {
  await s.stack.settle();
  return (await s.stack.ok<{ pbx: PbxView }>(MIGRATION_QUERY, { pbxId })).pbx;
}

export const CDS_OBJECTS_QUERY = /* GraphQL */ `
  query AgentTestObjects($pbxId: ID!, $afterSeq: Int) {
    cdsObjects(pbxId: $pbxId, afterSeq: $afterSeq, first: 5000) {
      seq
      category
      sourcePath
      objectKey
      sizeBytes
      sha256
    }
  }
`;

export interface CdsObjectView {
  seq: number;
  category: string;
  sourcePath: string;
  objectKey: string;
  sizeBytes: number;
  sha256: string;
}

export async function cdsObjects(s: AgentStack, pbxId: string): Promise<CdsObjectView[]> {
  const all: CdsObjectView[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = (await s.stack.ok<{ cdsObjects: CdsObjectView[] }>(CDS_OBJECTS_QUERY, { pbxId, afterSeq })).cdsObjects;
    all.push(...page);
    if (page.length < 5000) return all;
    afterSeq = page[page.length - 1].seq;
  }
}

/** Polls until `check` answers true (or fails the test after `timeoutMs`). */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
