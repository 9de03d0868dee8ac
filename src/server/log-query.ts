/**
 * Query parameters of the log routes -> the store's LineFilter, time budget and paging.
 * The schema has already checked types and ranges; this resolves what a schema cannot:
 * time points, durations, defaults. Errors name the parameter.
 */
import { performance } from 'node:perf_hooks';
import { AppError } from '../common/errors.js';
import { nsToEpochSecondsString, nsToRfc3339, parseDuration, parseTimePoint } from '../common/time.js';
import type { LogEntry } from '../protocol/api.js';
import { extractFields } from '../query/fields.js';
import { intersect, queryFilterParts } from '../query/query-filter.js';
import { QueryError } from '../query/language.js';
import type { LineFilter, Matcher, StoredLine } from '../storage/store.js';
import type { ServerLimits } from './context.js';

export interface FilterParams {
  q?: string;
  filter?: string[];
  regex?: string[];
  case?: 'sensitive' | 'insensitive';
  file?: string[];
  host?: string[];
  since?: string;
  until?: string;
  timeout?: string;
}

function nonEmpty(values: string[] | undefined): string[] | undefined {
  const kept = values?.filter((value) => value !== '');
  return kept && kept.length > 0 ? [...new Set(kept)] : undefined;
}

function timePoint(text: string | undefined, name: string, now: bigint): bigint | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = parseTimePoint(text, now);
  if (value === undefined) {
    throw new AppError('INVALID_PARAMETER', `Query parameter ${name} '${text}' must be RFC 3339, epoch digits, 'now' or a duration ago such as 15m, 2h, 7d`);
  }
  return value;
}

/** `hosts` overrides the `host` parameter (the /hosts/{host}/logs route). */
export function toLineFilter(params: FilterParams, now: bigint, hosts?: string[]): LineFilter {
  const caseInsensitive = params.case === 'insensitive';
  const match: Matcher[] = [
    ...(nonEmpty(params.filter) ?? []).map((text): Matcher => ({ kind: 'substring', text, caseInsensitive })),
    ...(nonEmpty(params.regex) ?? []).map((pattern): Matcher => ({ kind: 'regex', pattern, caseInsensitive })),
  ];
  const since = timePoint(params.since, 'since', now);
  const until = timePoint(params.until, 'until', now);
  if (since !== undefined && until !== undefined && since >= until) {
    throw new AppError('INVALID_PARAMETER', 'Query parameter since must be before until');
  }
  const parts = queryParts(params);
  if (parts.matcher) match.push(parts.matcher);
  // Nothing can match: a filter no line passes (a host name can never be empty).
  const none = parts.none || (parts.hosts !== undefined && intersect(hosts ?? nonEmpty(params.host), parts.hosts)?.length === 0);
  const filter: LineFilter = {};
  const hostList = none ? [''] : intersect(hosts ?? nonEmpty(params.host), parts.hosts);
  if (hostList) filter.hosts = hostList;
  const files = intersect(nonEmpty(params.file), parts.files);
  if (files) filter.files = files.length > 0 ? files : [''];
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (match.length > 0) filter.match = match;
  return filter;
}

function queryParts(params: FilterParams): ReturnType<typeof queryFilterParts> {
  if (params.q === undefined || params.q.trim() === '') return { none: false };
  try {
    return queryFilterParts(params.q, params.case === 'sensitive');
  } catch (error) {
    if (error instanceof QueryError) throw new AppError('INVALID_QUERY', error.message);
    throw error;
  }
}

/** A time point that moves with the clock: a duration ago (`15m`) or `now`. */
export function isRelativeTime(text: string | undefined): boolean {
  return text !== undefined && text.trim() !== '' && parseTimePoint(text, 0n) !== parseTimePoint(text, 1n);
}

/** The times RFC 3339 can write (years 0000 to 9999), in ns since the epoch. */
const RFC3339_FIRST = BigInt(Date.parse('0000-01-01T00:00:00Z')) * 1_000_000n;
const RFC3339_LAST = BigInt(Date.parse('+010000-01-01T00:00:00Z')) * 1_000_000n - 1n;

/**
 * `url` with a relative `since`/`until` (`15m`, `now`) replaced by the time it meant for this
 * page, in RFC 3339, so the `next` link names the range of its first page: resolved again at
 * each request, the range would move and the cursor belong to another query. A time RFC 3339
 * cannot carry exactly is left as it was.
 */
export function withAbsoluteTimes(url: string, filter: LineFilter): string {
  const absolute = new URL(url);
  for (const [name, value] of [['since', filter.since], ['until', filter.until]] as const) {
    if (value === undefined || value < RFC3339_FIRST || value > RFC3339_LAST || !isRelativeTime(absolute.searchParams.get(name) ?? undefined)) continue;
    const text = nsToRfc3339(value);
    if (parseTimePoint(text) === value) absolute.searchParams.set(name, text);
  }
  return absolute.toString();
}

/** The request's time budget as a `performance.now()` deadline. */
export function deadlineFor(timeout: string | undefined, limits: ServerLimits): { deadline: number; budgetMs: number } {
  let budgetMs = limits.defaultTimeoutMs;
  if (timeout !== undefined && timeout.trim() !== '') {
    const ns = parseDuration(timeout);
    if (ns === undefined || ns <= 0n) {
      throw new AppError('INVALID_PARAMETER', `Query parameter timeout '${timeout}' must be a duration such as 500ms or 5s`);
    }
    budgetMs = Number(ns / 1_000_000n);
    if (budgetMs > limits.maxTimeoutMs) {
      throw new AppError('INVALID_PARAMETER', `Query parameter timeout must be at most ${limits.maxTimeoutMs / 1000}s`);
    }
    budgetMs = Math.max(1, budgetMs);
  }
  return { deadline: performance.now() + budgetMs, budgetMs };
}

function hasAny(fields: object): boolean {
  for (const _ in fields) return true;
  return false;
}

/**
 * The entry with its fields in the schema's order (`cut` before `cursor`), since /logs writes
 * it with JSON.stringify. One literal, so every entry has one shape (a page of 10,000 built by
 * spreads made three objects an entry); `fields` and `cut` are left undefined when absent,
 * which JSON.stringify leaves out.
 */
export function toLogEntry(line: StoredLine, cursor: string): LogEntry {
  const extracted = extractFields(line.line, line.fields);
  return {
    filename: line.filename,
    last_modified: nsToEpochSecondsString(line.timestamp),
    logline: line.line,
    host: line.host,
    timestamp: nsToRfc3339(line.timestamp),
    path: line.path,
    offset: line.offset,
    file_id: line.fileId,
    seq: line.seq,
    fields: hasAny(extracted) ? extracted : undefined,
    cut: line.cut ? true : undefined,
    cursor,
  };
}
