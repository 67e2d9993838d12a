/**
 * How the agent stops. Every way out is one of these, so `cli.ts` can print
 * exactly one clear line on stderr and pick the exit code (README "The
 * activation script": 0 only when the migration is COMPLETED).
 */
export class AgentError extends Error {
  constructor(
    message: string,
    /** 2 for usage errors, 1 for anything else */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

export const usageError = (message: string) => new AgentError(message, 2);

/**
 * A source file the agent could not read (or whose sidecar is not valid):
 * the migration fails naming the file, and local data stays as it was.
 */
export class SourceFileError extends AgentError {
  constructor(
    readonly sourcePath: string,
    readonly reason: string,
  ) {
    super(`${sourcePath}: ${reason}`);
    this.name = 'SourceFileError';
  }
}

/** The CDS store refused a write or a copy did not verify: the migration fails naming the file. */
export class StoreError extends AgentError {
  constructor(
    readonly sourcePath: string,
    readonly reason: string,
  ) {
    super(`${sourcePath}: ${reason}`);
    this.name = 'StoreError';
  }
}

/** A readable reason for an fs error: "permission denied (EACCES)" rather than a stack. */
export function describeIoError(error: unknown): string {
  const e = error as NodeJS.ErrnoException | null;
  const code = e?.code;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file (it vanished while the agent ran)',
    EISDIR: 'is a directory',
    EIO: 'input/output error',
    ENOSPC: 'no space left on the device',
    EMFILE: 'too many open files',
    ELOOP: 'too many levels of symbolic links',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  const message = e?.message ?? String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
