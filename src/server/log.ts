/**
 * Daniel's own log, through pino: one JSON object a line on
 * stderr, `{"level":"warn","time":"…","reqId":"req-1","client":"…","msg":"…",…}`, written
 * only for what an operator acts on (errors, 5xx answers, slow requests; every request only
 * when asked). Every line about a request carries its id (the error and request-log
 * plugins put it there); Fastify itself runs without a logger (app.ts says why). Credentials
 * never reach the output: `authorization` headers and `token` fields are redacted.
 */
import pino, { type DestinationStream } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface ServerLog {
  readonly level: LogLevel;
  /** True when a line of this level would be written. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** What is never written, wherever it sits in a line's fields. */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.authorization',
  '*.token',
  'headers.cookie',
  'req.headers.cookie',
];

/** An Error as plain fields (JSON drops an Error's own properties). */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  const cause = error.cause === undefined ? undefined : errorFields(error.cause);
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** A log whose level can change while it runs (SIGHUP). */
export interface AdjustableServerLog extends ServerLog {
  setLevel(level: LogLevel): void;
}

export function createServerLog(options: { level: LogLevel; write?: (line: string) => void }): AdjustableServerLog {
  const { level } = options;
  // Synchronous writes to stderr (as process.stderr.write is for files and pipes on Linux):
  // the last lines before an exit are never lost in a buffer.
  const destination: DestinationStream = options.write === undefined ? pino.destination({ dest: 2, sync: true }) : { write: options.write };
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errorFields },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
  const emit =
    (at: Exclude<LogLevel, 'silent'>) =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) logger[at](message);
      else logger[at](fields, message);
    };
  const log: AdjustableServerLog = {
    level,
    enabled: (at) => logger.isLevelEnabled(at),
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    setLevel: (next) => {
      logger.level = next;
      (log as { level: LogLevel }).level = next;
    },
  };
  return log;
}

export const silentLog: ServerLog = createServerLog({ level: 'silent', write: () => undefined });
