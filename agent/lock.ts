import { constants, readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError, describeIoError } from './errors';
import { AGENT_FOLDER } from './scan';

export interface LocalLock {
  release(): Promise<void>;
}

/** The agent's folder in the source tree, created on first use. */
export async function agentFolder(sourceDir: string): Promise<string> {
  const dir = path.join(sourceDir, AGENT_FOLDER);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new AgentError(`Cannot create ${dir}: ${describeIoError(error)}`);
  }
  return dir;
}

/**
 * One agent per source tree on this machine: `DIR/.cds-agent/lock` is created
 * exclusively (O_EXCL) and holds the agent's pid. A lock whose pid is no longer
 * running (the agent was killed) is taken over. Agents on different machines
 * are kept apart by the server's lease on the migration.
 */
export async function acquireLock(sourceDir: string, pbxId: string, what: 'migrating' | 'purging'): Promise<LocalLock> {
  const dir = await agentFolder(sourceDir);
  const file = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written aside, then linked into place: link() creates exclusively, like O_EXCL, and the lock
    // never exists without its pid in it.
    const mine = `${file}.${process.pid}`;
    try {
      const handle = await open(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
      await handle.writeFile(`${process.pid}\n${pbxId}\n${what}\n`);
      await handle.close();
    } catch (error) {
      throw new AgentError(`Cannot create the lock ${file}: ${describeIoError(error)}`);
    }
    try {
      await link(mine, file);
      await unlink(mine).catch(() => undefined);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          // Only our own lock: a lock someone took over after we were presumed dead stays.
          const holder = await readHolder(file);
          if (holder?.pid === process.pid) await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      await unlink(mine).catch(() => undefined);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new AgentError(`Cannot create the lock ${file}: ${describeIoError(error)}`);
    }
    const holder = await readHolder(file);
    if (holder && isAlive(holder.pid) && holder.pid !== process.pid) {
      throw new AgentError(
        `another cds-agent (pid ${holder.pid}) is already ${holder.what} PBX ${holder.pbxId || pbxId} from ${sourceDir}`,
      );
    }
    await takeOverStale(file, holder?.pid ?? null);
  }
  throw new AgentError(`Cannot take the lock ${file}: other agents keep taking it`);
}

/**
 * Moves a stale lock aside and checks it really was the stale one: if a live
 * agent took the lock in between, its lock is put back.
 */
async function takeOverStale(file: string, stalePid: number | null): Promise<void> {
  const aside = `${file}.stale-${process.pid}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // gone already: try again
    throw new AgentError(`Cannot take over the stale lock ${file}: ${describeIoError(error)}`);
  }
  const moved = await readHolder(aside);
  if (moved && moved.pid !== stalePid && isAlive(moved.pid)) {
    await link(aside, file).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function readHolder(file: string): Promise<{ pid: number; pbxId: string; what: string } | null> {
  try {
    const [pid, pbxId, what] = (await readFile(file, 'utf8')).split('\n');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, pbxId: pbxId ?? '', what: what || 'migrating' } : null;
  } catch {
    return null;
  }
}

/** Whether an agent with this pid still runs; a pid reused by another program (containers reuse them fast) does not count. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent');
  } catch {
    return true; // no /proc (macOS): trust the pid
  }
}
