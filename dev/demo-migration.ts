import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { generateSampleTree } from '../agent/sample-tree';
import { signToken } from '../kernel/identity';
import { DEVELOPMENT_JWT_SECRET } from '../kernel/config';

/**
 * `npm run demo:migration` (with `npm start` running in another terminal):
 * generates the local storage of a demo PBX in .data/demo-pbx-<serial>/
 * (a few hundred recordings with sidecars, backups, voicemails, faxes) and
 * runs the CDS agent against the running stack, so its progress bar can be
 * watched. By default the PBX is acme-hq-vm1 (22110001d076), a VIRTUAL PBX
 * whose earlier migration FAILED and which may therefore be activated again.
 *
 *   npm run demo:migration -- [--pbx 22110001d074] [--recordings 300] [--fresh]
 *
 * --pbx 22110001d074 (acme-hq-support, a cloud PBX whose WMS upgrade started a
 * migration) shows the agent picking up a pending migration instead.
 */

const DEFAULT_PBX = '22110001d076';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const serial = (arg('pbx') ?? DEFAULT_PBX).toLowerCase();
  const recordings = Number(arg('recordings') ?? 300);
  const port = Number(process.env.PORT ?? 4000);
  const base = `http://127.0.0.1:${port}`;
  const gateway = `${base}/graphql`;
  const secret = process.env.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET;
  const dataDir = process.env.DATA_DIR ?? path.join(process.cwd(), '.data');
  const source = path.join(dataDir, `demo-pbx-${serial}`);

  const healthy = await fetch(`${base}/health`).then(
    (r) => r.ok,
    () => false,
  );
  if (!healthy) {
    console.error(`Nothing answers at ${base}. Start the stack first, in another terminal: npm start`);
    return 1;
  }

  if (process.argv.includes('--fresh')) await rm(source, { recursive: true, force: true });
  if (!existsSync(source)) {
    console.log(`Generating the local storage of demo PBX ${serial} in ${path.relative(process.cwd(), source)}/ ...`);
    const tree = await generateSampleTree(source, {
      recordings,
      recordingBytes: { min: 40_000, max: 400_000 },
      recordingsPerFolder: 50,
      backups: { count: 6, bytes: 8 * 1024 * 1024 },
      voicemails: 24,
      faxes: 9,
    });
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(
      `  ${tree.recordings.length} recordings (${tree.recordings.filter((r) => r.sidecar).length} with a sidecar, ${mb(tree.recordings.reduce((n, r) => n + r.sizeBytes, 0))} MB), ` +
        `${tree.backups.length} backups (${mb(tree.backups.reduce((n, b) => n + b.sizeBytes, 0))} MB), ${tree.voicemails.items} voicemails, ${tree.faxes.items} faxes\n`,
    );
  } else {
    console.log(`Using the existing tree in ${path.relative(process.cwd(), source)}/ (--fresh generates a new one)\n`);
  }

  // What the PBX would hold: a token for itself, signed like the development stack's tokens.
  const token = signToken(secret, { sub: `pbx:${serial}`, role: 'pbx', pbx: serial }, 3600);
  const command = [
    '-r',
    '@swc-node/register',
    path.join(__dirname, '..', 'agent', 'cli.ts'),
    '--pbx',
    serial,
    '--source',
    source,
    '--gateway',
    gateway,
  ];
  console.log(
    `$ CDS_TOKEN=<pbx token> npm run cds-agent -- --pbx ${serial} --source ${path.relative(process.cwd(), source)} --gateway ${gateway}\n`,
  );
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, command, { stdio: 'inherit', env: { ...process.env, CDS_TOKEN: token } });
    child.on('close', (c) => resolve(c ?? 1));
  });

  console.log(`
The agent exited with ${code}. What to look at in the GraphQL IDE (${base}/, the admin token is pre-filled):

  query {
    pbx(id: "${serial}") {
      name kind cds { state region activatedAt usedBytes usageByCategory { category usedBytes itemCount } }
      migrations { status trigger percent itemsDone itemsTotal bytesDone error
        categories { category state itemsDone itemsTotal } }
      recordings(first: 5) { totalCount edges { node { callId startedAt caller callee location localCopyExpiresAt sha256 } } }
    }
  }

The contract's PbxDetails and Recordings operations show the same with { "pbxId": "${serial}" }; the
MigrationProgress subscription shows a migration live while an agent runs (npm run demo:migration -- --fresh
--pbx 22110001d074 migrates the cloud PBX acme-hq-support). The CDS copies are in
${path.relative(process.cwd(), path.join(dataDir, 'cds'))}/<region>/${serial}/ unless CDS_STORES says otherwise; the local files stay
until their 7 days pass (then: npm run cds-agent -- --purge ...).`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
