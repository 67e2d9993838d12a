import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { agentFolder } from './lock';

/** What a restarted agent needs to resume its own run: the migration and the run token the server gave it. */
export interface RunState {
  pbxId: string;
  migrationId: string;
  runToken: string;
  startedAt: string;
}

const STATE_FILE = 'state.json';

export async function readRunState(sourceDir: string): Promise<RunState | null> {
  try {
    const parsed = JSON.parse(await readFile(path.join(sourceDir, '.cds-agent', STATE_FILE), 'utf8')) as Partial<RunState>;
    if (typeof parsed.pbxId === 'string' && typeof parsed.migrationId === 'string' && typeof parsed.runToken === 'string') {
      return { pbxId: parsed.pbxId, migrationId: parsed.migrationId, runToken: parsed.runToken, startedAt: String(parsed.startedAt ?? '') };
    }
    return null;
  } catch {
    return null; // none, or torn by a crash: the run starts over with a new token (the server's lease decides)
  }
}

/** Written aside and renamed, so a crash leaves the old state or the new one, never half of one. */
export async function writeRunState(sourceDir: string, state: RunState): Promise<void> {
  const dir = await agentFolder(sourceDir);
  const temp = path.join(dir, `${STATE_FILE}.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, path.join(dir, STATE_FILE));
}

export async function clearRunState(sourceDir: string): Promise<void> {
  await unlink(path.join(sourceDir, '.cds-agent', STATE_FILE)).catch(() => undefined);
}
