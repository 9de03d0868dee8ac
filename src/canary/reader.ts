/**
 * The canary's read side: follows its own lines through Daniel's live tail (SSE) to time
 * them, and reads them all back (paging through `next`) for the authoritative count.
 * Only the public REST API is used, so it works against any deployment.
 */
import type { LogEntry, LogsResponse } from '../protocol/api.js';
import { readSseEvents, type SseEvent } from '../protocol/sse.js';

export interface CanaryQuery {
  server: string;
  token: string;
  host: string;
  filename: string;
  /** The run's tag: only lines containing it are this run's. */
  runTag: string;
}

const seqPattern = /seq=(\d+)/;

export function seqOf(line: string): number | undefined {
  const match = seqPattern.exec(line);
  return match ? Number(match[1]) : undefined;
}

function logsUrl(query: CanaryQuery, extra: Record<string, string>): string {
  const params = new URLSearchParams({ host: query.host, file: query.filename, filter: query.runTag, ...extra });
  return `${query.server.replace(/\/+$/, '')}/logs?${params}`;
}

/** Every line of the run, in the API's ascending order, following `next` to the end. */
export async function readAllRunLines(query: CanaryQuery): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  let url: string | undefined = logsUrl(query, { order: 'asc', count: '10000' });
  for (let page = 0; url !== undefined && page < 10_000; page++) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${query.token}` }, signal: AbortSignal.timeout(60_000) });
    if (response.status === 404) return entries;
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as LogsResponse;
    entries.push(...body.data);
    url = body.next;
  }
  return entries;
}

export interface Follower {
  /** Resolves once the stream is open (or rejects when live tail is not available). */
  ready: Promise<void>;
  stop(): void;
}

/**
 * Opens `follow=true` and calls `onLine(seq, seenAtMs)` for each of the run's lines as it
 * arrives. Errors after the stream opened end the follow quietly: the final read-back
 * still counts every line, only latency samples are lost.
 */
export function followRunLines(query: CanaryQuery, onLine: (seq: number, seenAtMs: number) => void): Follower {
  const controller = new AbortController();
  let markReady: () => void = () => undefined;
  let markFailed: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markFailed = reject;
  });
  const run = async (): Promise<void> => {
    const response = await fetch(logsUrl(query, { follow: 'true' }), {
      headers: { authorization: `Bearer ${query.token}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !type.includes('text/event-stream') || !response.body) {
      await response.body?.cancel();
      throw new Error(`live tail not available: ${response.status} ${type}`);
    }
    markReady();
    for await (const event of readSseEvents(response.body)) handleEvent(event, onLine);
  };
  run().catch((error: unknown) => markFailed(error instanceof Error ? error : new Error(String(error))));
  // A follow that fails after it opened is not an error of the run (see above).
  ready.catch(() => undefined);
  return { ready, stop: () => controller.abort() };
}

function handleEvent(event: SseEvent, onLine: (seq: number, seenAtMs: number) => void): void {
  const seenAt = Date.now();
  if (event.type !== 'line') return;
  try {
    const entry = JSON.parse(event.data) as LogEntry;
    const seq = seqOf(entry.logline);
    if (seq !== undefined) onLine(seq, seenAt);
  } catch {
    // Not a line we can read: the final read-back decides what arrived.
  }
}

/**
 * The fallback when live tail is unavailable: polls ascending pages after the last cursor
 * seen, so latency is measured to within one polling interval.
 */
export function pollRunLines(query: CanaryQuery, onLine: (seq: number, seenAtMs: number) => void, intervalMs = 200): Follower {
  let stopped = false;
  let cursor: string | undefined;
  const poll = async (): Promise<void> => {
    while (!stopped) {
      let url: string | undefined = logsUrl(query, { order: 'asc', count: '10000', ...(cursor ? { cursor } : {}) });
      while (url !== undefined && !stopped) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${query.token}` }, signal: AbortSignal.timeout(30_000) });
        if (!response.ok) break;
        const body = (await response.json()) as LogsResponse;
        const seenAt = Date.now();
        for (const entry of body.data) {
          const seq = seqOf(entry.logline);
          if (seq !== undefined) onLine(seq, seenAt);
          cursor = entry.cursor;
        }
        url = body.next;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  poll().catch(() => undefined);
  return { ready: Promise.resolve(), stop: () => (stopped = true) };
}
