import pino, { DestinationStream, Logger } from 'pino';
import { LogLevel, logLevelFromEnv } from './config';
import { currentRequest } from './request';

/**
 * Structured logs: one pino root logger per process, a child per service
 * (`serviceLogger('gateway')`, `serviceLogger('storage')`) and per component
 * (`componentLogger('bus')`). Every line is one JSON object on stdout with
 * `level`, `time`, `service`/`component` and, for request lines, `requestId`.
 *
 * What never reaches a line: tokens and Authorization/Cookie headers, passwords,
 * GraphQL variables (they carry callers, callees and other personal data) and
 * the fields of a recording that are personal data. Requests are logged by
 * their operation name, never by their variables; the redaction below is the
 * second line of defence for anything logged by mistake.
 *
 * LOG_LEVEL picks the level (fatal, error, warn, info, debug, trace, silent);
 * the default is `info`, `warn` under jest (NODE_ENV=test) to keep test output
 * readable. There is no pretty printing: pipe through `npx pino-pretty` when
 * reading logs by eye in development.
 */

export type { Logger, LogLevel };

/** Paths pino replaces by `[redacted]` wherever they appear in a logged object (one level deep for `*`). */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'cookie',
  '*.cookie',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'variables',
  '*.variables',
  'caller',
  '*.caller',
  'callee',
  '*.callee',
  'connectionParams',
  '*.connectionParams',
];

/**
 * Where the root logger writes. A forwarding stream rather than stdout itself,
 * so that a test can capture what the services log (`captureLogs`) without
 * every module having to be handed a logger.
 */
const stdout = pino.destination({ dest: 1, sync: false });
process.once('exit', () => stdout.flushSync());
const sink: { target: DestinationStream } = { target: stdout };
const forwarding: DestinationStream = { write: (line: string) => sink.target.write(line) };

/** LOG_LEVEL; a bad value leaves `info` here, and loadConfig stops the start naming it. */
function initialLevel(): LogLevel {
  try {
    return logLevelFromEnv();
  } catch {
    return 'info';
  }
}

/** Every logger made from the root, so that a level change reaches children made before it (pino copies the level). */
const loggers = new Set<WeakRef<Logger>>();

export const rootLogger: Logger = pino(
  {
    level: initialLevel(),
    onChild: (child) => void loggers.add(new WeakRef(child)),
    // Every line written while a request is handled names it, wherever in the code it is written.
    mixin: () => {
      const request = currentRequest();
      return request ? { requestId: request.id } : {};
    },
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  forwarding,
);

/** The logger of one service (a subgraph or the gateway); the dev stack has several in one process. */
export function serviceLogger(service: string): Logger {
  return rootLogger.child({ service });
}

/** The logger of a shared component (bus, outbox, http) that runs inside whichever service uses it. */
export function componentLogger(component: string, parent: Logger = rootLogger): Logger {
  return parent.child({ component });
}

/** Changes the level of every logger of this process. */
export function setLogLevel(level: LogLevel): void {
  rootLogger.level = level;
  for (const ref of loggers) {
    const logger = ref.deref();
    if (logger) logger.level = level;
    else loggers.delete(ref);
  }
}

export interface CapturedLogs {
  /** every line written since capture began, parsed */
  lines(): Record<string, unknown>[];
  /** the raw text written since capture began */
  text(): string;
  /** writes to stdout again */
  restore(): void;
}

/** Sends what every logger of this process writes into memory until `restore()` (tests). */
export function captureLogs(level: LogLevel = 'trace'): CapturedLogs {
  const previous = sink.target;
  const previousLevel = rootLogger.level;
  const chunks: string[] = [];
  sink.target = { write: (line: string) => void chunks.push(line) };
  setLogLevel(level);
  return {
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore() {
      sink.target = previous;
      setLogLevel(previousLevel as LogLevel);
    },
  };
}
