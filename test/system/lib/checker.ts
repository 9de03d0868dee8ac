/**
 * Reads everything a host holds back through Daniel's API and checks it line by line
 * against what the writers wrote: every `seq` of every stream exactly once (lost = 0,
 * duplicated = 0), and within one file identity the seqs rise with the offset.
 */
import type { LogEntry, LogsResponse } from '../../../src/protocol/api.js';
import { tokens } from '../../lib/processes.js';

export interface Api {
  /** Daniel's base URL; a getter so a restarted Daniel on a new port is followed. */
  readonly url: string;
  readonly token?: string;
}

export async function getJson<T>(api: Api, path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(path.startsWith('http') ? path : `${api.url}${path}`, {
    headers: { authorization: `Bearer ${api.token ?? tokens.read}` },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    throw new Error(`GET ${path}: ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body };
}

/** Every stored line of `host` (optionally only `files`), oldest first, following `next`. */
export async function fetchAllLines(api: Api, host: string, files: string[] = []): Promise<LogEntry[]> {
  const query = new URLSearchParams({ count: '10000', order: 'asc' });
  for (const file of files) query.append('file', file);
  let path: string | undefined = `/hosts/${encodeURIComponent(host)}/logs?${query}`;
  const entries: LogEntry[] = [];
  for (let page = 0; path !== undefined; page++) {
    if (page > 1000) throw new Error('more than 1000 pages: `next` does not advance');
    const { status, body }: { status: number; body: LogsResponse } = await getJson<LogsResponse>(api, path);
    if (status === 404) return [];
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body).slice(0, 300)}`);
    entries.push(...body.data);
    path = body.next;
  }
  return entries;
}

export interface Verdict {
  expected: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** Lines that carry no known stream/seq (allowed only where a test says so). */
  foreign: number;
  /** A few human-readable examples of what went wrong. */
  problems: string[];
}

const seqPattern = /seq=(\d+) stream=(\S+)/;

/** `expected` maps a stream name to how many lines (seq 0..n-1) its writer wrote. */
export function verifyLines(entries: LogEntry[], expected: Record<string, number>): Verdict {
  const seen = new Map<string, Uint8Array>();
  for (const [stream, count] of Object.entries(expected)) seen.set(stream, new Uint8Array(count));
  const verdict: Verdict = { expected: 0, received: entries.length, lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0, problems: [] };
  const note = (problem: string): void => {
    if (verdict.problems.length < 20) verdict.problems.push(problem);
  };
  const byFile = new Map<string, Array<{ offset: number; seq: number; stream: string }>>();
  for (const entry of entries) {
    const match = seqPattern.exec(entry.logline);
    const counts = match ? seen.get(match[2]!) : undefined;
    const seq = match ? Number(match[1]) : -1;
    if (!match || !counts || seq >= counts.length) {
      verdict.foreign++;
      note(`unexpected line ${entry.filename}@${entry.offset}: ${entry.logline.slice(0, 80)}`);
      continue;
    }
    counts[seq]!++;
    const key = `${entry.file_id}`;
    let list = byFile.get(key);
    if (!list) byFile.set(key, (list = []));
    list.push({ offset: entry.offset, seq, stream: match[2]! });
  }
  for (const [stream, counts] of seen) {
    verdict.expected += counts.length;
    for (let seq = 0; seq < counts.length; seq++) {
      if (counts[seq] === 0) {
        verdict.lost++;
        note(`lost ${stream} seq=${seq}`);
      } else if (counts[seq]! > 1) {
        verdict.duplicated += counts[seq]! - 1;
        note(`duplicated ${stream} seq=${seq} x${counts[seq]}`);
      }
    }
  }
  for (const [fileId, list] of byFile) {
    list.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1]!;
      const current = list[i]!;
      if (current.stream === previous.stream && current.seq < previous.seq) {
        verdict.outOfOrder++;
        note(`out of order in ${fileId}: seq=${current.seq}@${current.offset} after seq=${previous.seq}@${previous.offset}`);
      }
    }
  }
  return verdict;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** After everything is visible, wait this long and check again, so late duplicates count. */
  settleMs?: number;
  files?: string[];
}

/** Polls until no line is lost (or the deadline), then settles and returns the final verdict. */
export async function waitForLines(api: Api, host: string, expected: Record<string, number>, options: WaitOptions = {}): Promise<Verdict> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let verdict = verifyLines(await fetchAllLines(api, host, options.files), expected);
  while (verdict.lost > 0 && Date.now() < deadline) {
    await delay(250);
    verdict = verifyLines(await fetchAllLines(api, host, options.files), expected);
  }
  if (verdict.lost > 0) return verdict;
  await delay(options.settleMs ?? 1500);
  return verifyLines(await fetchAllLines(api, host, options.files), expected);
}

/** Polls `condition` until it holds or the deadline passes; returns whether it held. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await delay(intervalMs);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One line for the test output: what a scenario ended with. */
export function summary(name: string, verdict: Verdict): string {
  return `${name}: expected=${verdict.expected} received=${verdict.received} lost=${verdict.lost} duplicated=${verdict.duplicated} outOfOrder=${verdict.outOfOrder} foreign=${verdict.foreign}${
    verdict.problems.length ? `\n  ${verdict.problems.join('\n  ')}` : ''
  }`;
}
