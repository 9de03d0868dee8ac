/**
 * The dead-letter file: lines Daniel refused for good (an answer that says the lines, not
 * the address, token or size, are wrong), one JSON object a line, each holding an ingest
 * request that can be sent again as it is (`henrik replay-dead-letter`).
 * Bounded: past `maxBytes` the file is moved to `dead-letter.ndjson.1` (an older `.1` is
 * deleted, and said so), so the two never hold more than twice the bound.
 * Said loudly and repeatedly: the first refusal at once, then a summary at most every
 * `logIntervalMs` while refusals go on, never once and then silence.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { IngestRequest } from '../protocol/ingest.js';
import type { AgentEventFields, AgentLog } from './events.js';
import { lineCount } from './split-request.js';

export const DEAD_LETTER_FILE = 'dead-letter.ndjson';
export const DEAD_LETTER_MAX_BYTES = 64 * 1024 * 1024;

export interface DeadLetterEntry {
  time: string;
  /** HTTP status of the answer (200 for lines a stored request named in `rejected`). */
  status: number;
  /** The error code Daniel gave, when it gave one. */
  code?: string;
  reason: string;
  lines: number;
  /** The refused lines as an ingest request; base64 of the body when it could not be read. */
  request: IngestRequest | string;
}

export interface DeadLetterOptions {
  stateDir: string;
  maxBytes?: number;
  logIntervalMs?: number;
  log: AgentLog;
}

export class DeadLetters {
  /** Lines written to the dead-letter file since start. */
  lines = 0;
  entries = 0;
  readonly file: string;
  private readonly maxBytes: number;
  private readonly logIntervalMs: number;
  private size: number | undefined;
  private lastLogMs = 0;
  private linesAtLastLog = 0;
  private entriesAtLastLog = 0;
  private lastReason: AgentEventFields = {};
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: DeadLetterOptions) {
    this.file = path.join(options.stateDir, DEAD_LETTER_FILE);
    this.maxBytes = options.maxBytes ?? DEAD_LETTER_MAX_BYTES;
    this.logIntervalMs = options.logIntervalMs ?? 60_000;
  }

  /** Appends an entry (entries are written one at a time, in call order). */
  write(entry: Omit<DeadLetterEntry, 'time' | 'lines'>, lines = typeof entry.request === 'string' ? 0 : lineCount(entry.request)): Promise<void> {
    return this.keep({ time: new Date().toISOString(), status: entry.status, ...(entry.code !== undefined ? { code: entry.code } : {}), reason: entry.reason, lines, request: entry.request });
  }

  /** Appends an entry as it is (a replay puts back what it could not send). */
  keep(entry: DeadLetterEntry): Promise<void> {
    const run = this.chain.then(() => this.writeNow(entry));
    this.chain = run.catch(() => {});
    return run;
  }

  private async writeNow(entry: DeadLetterEntry): Promise<void> {
    const text = JSON.stringify(entry) + '\n';
    const bytes = Buffer.byteLength(text);
    await fsp.mkdir(this.options.stateDir, { recursive: true });
    if (this.size === undefined) this.size = await fsp.stat(this.file).then((s) => s.size, () => 0);
    if (this.size > 0 && this.size + bytes > this.maxBytes) {
      const older = `${this.file}.1`;
      const dropped = await fsp.stat(older).then((s) => s.size, () => 0);
      await fsp.rename(this.file, older);
      this.size = 0;
      // lost_bytes: the older .1 file it replaced, whose lines are lost.
      this.options.log('dead_letter_rotated', { file: this.file, max_bytes: this.maxBytes, moved_to: path.basename(older), lost_bytes: dropped > 0 ? dropped : undefined });
    }
    await fsp.appendFile(this.file, text);
    this.size += bytes;
    this.lines += entry.lines;
    this.entries++;
    this.lastReason = { last_status: entry.status, last_code: entry.code, last_reason: entry.reason };
    this.maybeLog();
  }

  /** Says what was dead-lettered since the last time, at most every `logIntervalMs`. */
  maybeLog(now = Date.now()): void {
    if (this.entries === this.entriesAtLastLog || now - this.lastLogMs < this.logIntervalMs) return;
    this.options.log('dead_lettered', { dead_lettered_lines: this.lines, new: this.lines - this.linesAtLastLog, ...this.lastReason, file: this.file });
    this.lastLogMs = now;
    this.linesAtLastLog = this.lines;
    this.entriesAtLastLog = this.entries;
  }

  /** Resolves when every entry written so far is on disk. */
  idle(): Promise<void> {
    return this.chain;
  }
}

/** The entries of a dead-letter file (`.1` first when asked for both), skipping lines that are not entries. */
export async function readDeadLetters(file: string): Promise<{ entries: DeadLetterEntry[]; unreadable: number }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: 0 };
    throw err;
  }
  const entries: DeadLetterEntry[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as DeadLetterEntry;
      if (typeof entry !== 'object' || entry === null || entry.request === undefined) throw new Error('not an entry');
      entries.push(entry);
    } catch {
      unreadable++;
    }
  }
  return { entries, unreadable };
}
