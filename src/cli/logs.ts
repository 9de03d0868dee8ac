/**
 * `daniel logs [HOST]`: search pages followed through `next` until --count lines, each hit
 * optionally with its context lines, or a live tail that reconnects with Last-Event-ID
 * after a dropped connection (no gap, no duplicate).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiError, ContextResponse, LogEntry, LogsResponse } from '../protocol/api.js';
import { readSseEvents, SseParser } from '../protocol/sse.js';
import { ApiClient, CliError, EXIT, type QueryValue } from './client.js';
import { formatLogLine } from './format.js';

export type OutputFormat = 'text' | 'json' | 'ndjson';

export interface LogsOptions {
  /** A query in the language of docs/query.md. */
  query?: string;
  /** Print each line's fields under it (text output). */
  fields?: boolean;
  file?: string[];
  filter?: string[];
  regex?: string[];
  ignoreCase?: boolean;
  since?: string;
  until?: string;
  order?: 'asc' | 'desc';
  count: number;
  follow?: boolean;
  /** With follow: how many of the newest matching lines to print before the live tail (like `tail -f`). */
  backlog?: number;
  context?: number;
  output: OutputFormat;
}

export type Write = (text: string) => void;

const MAX_PAGE = 10_000;
const RECONNECT_DELAY_MS = 1000;

function filterQuery(options: LogsOptions): Record<string, QueryValue> {
  return {
    q: options.query,
    file: options.file,
    filter: options.filter,
    regex: options.regex,
    case: options.ignoreCase === true ? 'insensitive' : undefined,
    since: options.since,
    until: options.until,
  };
}

function logsPath(host: string | undefined): string {
  return host === undefined ? '/logs' : `/hosts/${encodeURIComponent(host)}/logs`;
}

async function* searchPages(client: ApiClient, host: string | undefined, options: LogsOptions): AsyncGenerator<LogEntry[]> {
  let remaining = options.count;
  let url = client.url(logsPath(host), { ...filterQuery(options), order: options.order, count: Math.min(remaining, MAX_PAGE) });
  while (remaining > 0) {
    const page = await client.getJson<LogsResponse>(url);
    const taken = page.data.slice(0, remaining);
    remaining -= taken.length;
    if (taken.length > 0) yield taken;
    if (page.next === undefined || remaining <= 0) return;
    // Only the path and query of `next`: its scheme and host are what the server saw (a proxy's
    // http:// behind TLS, a Host header), and the token must go only to --server.
    const next = new URL(page.next, 'http://next.invalid');
    next.searchParams.set('count', String(Math.min(remaining, MAX_PAGE)));
    url = client.url(next.pathname + next.search);
  }
}

async function printContext(client: ApiClient, entries: LogEntry[], lines: number, options: LogsOptions, write: Write, first: { value: boolean }): Promise<void> {
  for (const entry of entries) {
    const answer = await client.getJson<ContextResponse>('/logs/context', {
      host: entry.host,
      file_id: entry.file_id,
      offset: entry.offset,
      before: lines,
      after: lines,
    });
    const group = answer.data;
    if (options.output === 'text') {
      if (!first.value) write('--\n');
      for (const line of group.before) write(formatLogLine(line, '-', options.fields) + '\n');
      write(formatLogLine(group.line, ':', options.fields) + '\n');
      for (const line of group.after) write(formatLogLine(line, '-', options.fields) + '\n');
    } else if (options.output === 'ndjson') {
      write(JSON.stringify(group) + '\n');
    } else {
      write((first.value ? '[\n' : ',\n') + JSON.stringify(group));
    }
    first.value = false;
  }
}

export async function runSearch(client: ApiClient, host: string | undefined, options: LogsOptions, write: Write): Promise<void> {
  const first = { value: true };
  for await (const entries of searchPages(client, host, options)) {
    if (options.context !== undefined) {
      await printContext(client, entries, options.context, options, write, first);
      continue;
    }
    for (const entry of entries) {
      if (options.output === 'text') write(formatLogLine(entry, ':', options.fields) + '\n');
      else if (options.output === 'ndjson') write(JSON.stringify(entry) + '\n');
      else write((first.value ? '[\n' : ',\n') + JSON.stringify(entry));
      first.value = false;
    }
  }
  if (options.output === 'json') write(first.value ? '[]\n' : '\n]\n');
}

function eventError(data: string): { code: string; message: string } {
  try {
    const parsed = JSON.parse(data) as Partial<ApiError>;
    if (parsed.error) return parsed.error;
  } catch {
    // fall through
  }
  return { code: 'STREAM_ERROR', message: data };
}

function writeFollowed(entry: LogEntry, options: LogsOptions, write: Write): void {
  write(options.output === 'text' ? formatLogLine(entry, ':', options.fields) + '\n' : JSON.stringify(entry) + '\n');
}

/**
 * The newest `backlog` matching lines, printed oldest first; returns the seq the live tail
 * resumes after (the newest seq among them: lines stored in seq order, so every line below
 * it was visible to the search), or undefined to start at "now" when there was none.
 */
async function printBacklog(client: ApiClient, host: string | undefined, options: LogsOptions, write: Write): Promise<string | undefined> {
  const entries: LogEntry[] = [];
  for await (const page of searchPages(client, host, { ...options, order: 'desc', count: options.backlog ?? 0 })) entries.push(...page);
  let resumeAfter: number | undefined;
  for (const entry of entries.reverse()) {
    writeFollowed(entry, options, write);
    if (resumeAfter === undefined || entry.seq > resumeAfter) resumeAfter = entry.seq;
  }
  return resumeAfter === undefined ? undefined : String(resumeAfter);
}

/**
 * Prints the backlog, then follows until `signal` aborts; reconnects after drops, resuming
 * after the last event seen.
 */
export async function runFollow(client: ApiClient, host: string | undefined, options: LogsOptions, write: Write, signal: AbortSignal): Promise<void> {
  const url = client.url(logsPath(host), { ...filterQuery(options), follow: 'true' });
  let lastId = (options.backlog ?? 0) > 0 ? await printBacklog(client, host, options, write) : undefined;
  let connected = false;
  while (!signal.aborted) {
    // Every id counts, one sent without a line (the stream's start position) included.
    const parser = new SseParser();
    parser.lastEventId = lastId ?? '';
    try {
      const response = await client.open(url, lastId === undefined ? {} : { 'last-event-id': lastId }, signal);
      connected = true;
      if (response.body === null) throw new Error('empty stream');
      for await (const event of readSseEvents(response.body, parser)) {
        if (parser.lastEventId !== '') lastId = parser.lastEventId;
        if (event.type === 'line') {
          writeFollowed(JSON.parse(event.data) as LogEntry, options, write);
        } else if (event.type === 'error') {
          const error = eventError(event.data);
          // Too slow a reader: the server dropped us; reconnecting resumes where we were.
          if (error.code !== 'RATE_LIMITED') throw new CliError(`${error.code}: ${error.message}`, EXIT.api);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      // The first connection failing, or any answer from the API, ends the command.
      if (error instanceof CliError && (error.exitCode === EXIT.api || !connected)) throw error;
    }
    if (parser.lastEventId !== '') lastId = parser.lastEventId;
    try {
      await sleep(RECONNECT_DELAY_MS, undefined, { signal });
    } catch {
      return;
    }
  }
}
