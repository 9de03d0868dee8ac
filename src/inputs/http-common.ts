/**
 * What the HTTP push inputs (Loki, OTLP, Elasticsearch bulk) share: the host a pushed entry
 * gets when the sender names none, and how a structured value becomes flat string fields.
 */
import type { PushAuth } from './sink.js';

/** The host of an entry whose sender names none: the token's one bound host, else `unknown`. */
export function fallbackHost(auth: PushAuth): string {
  if (auth.hosts !== undefined && auth.hosts.size === 1) return [...auth.hosts][0] as string;
  return 'unknown';
}

/**
 * Adds `value` under `name` to `out`: objects are flattened with `.` (`host.name`), strings
 * kept, numbers, booleans and arrays written as JSON; null and undefined add nothing.
 */
export function flattenInto(out: Record<string, string>, name: string, value: unknown, depth = 0): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    out[name] = value;
    return;
  }
  if (typeof value === 'object' && !Array.isArray(value) && depth < 16) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      flattenInto(out, name === '' ? key : `${name}.${key}`, inner, depth + 1);
    }
    return;
  }
  if (name === '') return;
  out[name] = typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
}

/** The first non-empty of `names` in `fields`. */
export function firstOf(fields: Record<string, string>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = fields[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Summarises refusals for a protocol's one error text: the first few, and how many in all. */
export function describeRejections(rejected: readonly { message: string }[], limit = 3): string {
  const shown = rejected.slice(0, limit).map((rejection) => rejection.message);
  const more = rejected.length > limit ? ` (and ${rejected.length - limit} more)` : '';
  return `${shown.join('; ')}${more}`;
}

const LEVEL_NAMES: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'notice',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'critical',
  critical: 'critical',
  crit: 'critical',
  alert: 'alert',
  emergency: 'emergency',
  emerg: 'emergency',
  panic: 'emergency',
};

/** A sender's level word as one of the normalised level names (`WARNING` -> `warn`), or undefined. */
export function normalLevel(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  return LEVEL_NAMES[text.trim().toLowerCase().replace(/[0-9]+$/, '')];
}
