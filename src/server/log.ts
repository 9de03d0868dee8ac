/**
 * Daniel's own log: one JSON object a line on stderr, written only for what an operator acts
 * on (errors, 5xx answers, slow requests; every request only when asked). Fastify runs with
 * its logger off, because its per-request child logger and response listeners cost as much
 * as the rest of a `/healthz` answer.
 */

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

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** An Error as plain fields (JSON.stringify drops an Error's own properties). */
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

function stringify(record: LogFields): string {
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return errorFields(value);
    return value;
  });
}

/** A log whose level can change while it runs (SIGHUP). */
export interface AdjustableServerLog extends ServerLog {
  setLevel(level: LogLevel): void;
}

export function createServerLog(options: { level: LogLevel; write?: (line: string) => void }): AdjustableServerLog {
  let level = options.level;
  const write = options.write ?? ((line: string): void => void process.stderr.write(line));
  let threshold = RANK[level];
  const emit = (at: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields | undefined): void => {
    if (RANK[at] < threshold) return;
    write(`${stringify({ time: new Date().toISOString(), level: at, msg: message, ...fields })}\n`);
  };
  return {
    get level() {
      return level;
    },
    setLevel(next: LogLevel) {
      level = next;
      threshold = RANK[next];
    },
    enabled: (at) => RANK[at] >= threshold,
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

export const silentLog: ServerLog = createServerLog({ level: 'silent', write: () => undefined });
