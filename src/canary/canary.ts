/**
 * The canary (after Loki's): writes numbered lines at a steady rate into a file, ships them
 * with a real Henrik spawned from this package, reads them back through Daniel's API and
 * reports what went missing, what arrived twice, what came out of order, and how long a
 * line took from its append to being visible (p50/p99). Operators run it against a live
 * deployment; the system tests run it against a throwaway one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { followRunLines, pollRunLines, readAllRunLines, seqOf, type CanaryQuery, type Follower } from './reader.js';

export interface CanaryOptions {
  server: string;
  /** Needs both scopes: Henrik ingests with it, the canary reads with it (an admin token). */
  token: string;
  /** Token for reading back, when `token` is an ingest-only one. */
  readToken?: string;
  /** Lines per second, default 1000. */
  ratePerSecond?: number;
  /** How long to write, default 30 s. */
  durationMs?: number;
  /** File to append to; default a new file in a temp dir. */
  file?: string;
  /** Host name Henrik reports, default `canary-<hostname>`. */
  host?: string;
  /** How long to wait after the last write for every line to show up, default 30 s. */
  drainTimeoutMs?: number;
  /** Bytes of filler per line, default 100. */
  payloadBytes?: number;
  /** The henrik script to run; default the one built beside this module. */
  henrikBin?: string;
  /** Progress messages (to stderr in the command). */
  log?: (message: string) => void;
}

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  /** `follow` when timed through live tail (SSE), `poll` when by polling every 200 ms. */
  method: 'follow' | 'poll';
}

export interface CanaryReport {
  host: string;
  file: string;
  filename: string;
  run: string;
  ratePerSecond: number;
  durationMs: number;
  sent: number;
  /** Distinct lines of the run found through the API. */
  received: number;
  missing: number;
  duplicated: number;
  /** Lines that came back (in the API's ascending order) after a line with a higher seq. */
  outOfOrder: number;
  latency: LatencyFigures | null;
  henrikExit: { code: number | null; signal: string | null };
  ok: boolean;
}

export function defaultHenrikBin(): string {
  const candidates = ['../bin/henrik.js', '../../dist/bin/henrik.js'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

export function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

const filler = 'canary filler text: the quick brown fox jumps over the lazy dog 0123456789 ';

export async function runCanary(options: CanaryOptions): Promise<CanaryReport> {
  const rate = options.ratePerSecond ?? 1000;
  const durationMs = options.durationMs ?? 30_000;
  const log = options.log ?? (() => undefined);
  const run = randomBytes(6).toString('hex');
  const runTag = `canary-run=${run}`;
  const workDir = mkdtempSync(join(tmpdir(), 'daniel-canary-'));
  const file = resolve(options.file ?? join(workDir, 'canary.log'));
  const host = options.host ?? `canary-${hostname()}`;
  const query: CanaryQuery = { server: options.server, token: options.readToken ?? options.token, host, filename: basename(file), runTag };
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const appendedAt = new Float64Array(total);
  const seenAt = new Float64Array(total);
  let seenCount = 0;
  const onLine = (seq: number, at: number): void => {
    if (seq < total && seenAt[seq] === 0) {
      seenAt[seq] = at;
      seenCount++;
    }
  };

  let follower: Follower = followRunLines(query, onLine);
  let method: LatencyFigures['method'] = 'follow';
  try {
    await follower.ready;
  } catch (error) {
    log(`canary: ${(error as Error).message}; timing by polling instead`);
    follower = pollRunLines(query, onLine);
    method = 'poll';
  }

  // The file exists before Henrik starts, so it is found by the first scan, not a rescan.
  closeSync(openSync(file, 'a'));
  const henrik = spawn(
    process.execPath,
    [options.henrikBin ?? defaultHenrikBin(), '--server', options.server, '--token', options.token, '--host', host, '--state-dir', join(workDir, 'henrik-state'), file],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const henrikOutput: string[] = [];
  const keep = (chunk: Buffer): void => {
    henrikOutput.push(chunk.toString('utf8'));
    if (henrikOutput.length > 50) henrikOutput.shift();
  };
  henrik.stdout.on('data', keep);
  henrik.stderr.on('data', keep);
  let henrikExit: CanaryReport['henrikExit'] | undefined;
  const henrikExited = new Promise<CanaryReport['henrikExit']>((done) =>
    henrik.on('exit', (code, signal) => done((henrikExit = { code, signal }))),
  );
  // Henrik's start line says it is watching; latency is measured from then on, not from its boot.
  await new Promise<void>((ready) => {
    const timer = setTimeout(ready, 10_000);
    const done = (): void => {
      clearTimeout(timer);
      ready();
    };
    henrik.stdout.once('data', done);
    henrik.stderr.once('data', done);
    henrik.once('exit', done);
  });

  try {
    log(`canary: run ${run}, ${total} lines at ${rate}/s into ${file}, host ${host}, via ${options.server}`);
    await writeLines(file, runTag, total, rate, options.payloadBytes ?? 100, appendedAt);
    log(`canary: wrote ${total} lines; waiting for them to arrive`);
    await drain(query, total, () => seenCount, options.drainTimeoutMs ?? 30_000);
  } finally {
    follower.stop();
    if (!henrikExit) henrik.kill('SIGTERM');
    const timer = setTimeout(() => henrik.kill('SIGKILL'), 20_000);
    await henrikExited;
    clearTimeout(timer);
  }
  const exit = henrikExit ?? { code: null, signal: null };
  if (exit.code !== 0) log(`canary: henrik exited ${JSON.stringify(exit)}:\n${henrikOutput.join('').slice(-2000)}`);

  const counts = new Uint32Array(total);
  let outOfOrder = 0;
  let highest = -1;
  for (const entry of await readAllRunLines(query)) {
    const seq = seqOf(entry.logline);
    if (seq === undefined || seq >= total) continue;
    counts[seq]!++;
    if (seq < highest) outOfOrder++;
    highest = Math.max(highest, seq);
  }
  let missing = 0;
  let duplicated = 0;
  for (const count of counts) {
    if (count === 0) missing++;
    else duplicated += count - 1;
  }
  const latencies: number[] = [];
  for (let seq = 0; seq < total; seq++) if (seenAt[seq]! > 0) latencies.push(Math.max(0, seenAt[seq]! - appendedAt[seq]!));
  latencies.sort((a, b) => a - b);
  rmSync(workDir, { recursive: true, force: true });
  return {
    host,
    file,
    filename: query.filename,
    run,
    ratePerSecond: rate,
    durationMs,
    sent: total,
    received: total - missing,
    missing,
    duplicated,
    outOfOrder,
    latency: latencies.length
      ? { p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies[latencies.length - 1]!, samples: latencies.length, method }
      : null,
    henrikExit: exit,
    ok: missing === 0 && duplicated === 0,
  };
}

/** Appends `total` numbered lines at `rate` lines/s, recording each line's append time. */
async function writeLines(file: string, runTag: string, total: number, rate: number, payloadBytes: number, appendedAt: Float64Array): Promise<void> {
  const fd = openSync(file, 'a');
  const padding = filler.repeat(Math.ceil(payloadBytes / filler.length)).slice(0, payloadBytes);
  const startedAt = Date.now();
  let written = 0;
  try {
    while (written < total) {
      const due = Math.min(total, Math.floor(((Date.now() - startedAt) / 1000) * rate) + 1);
      if (due > written) {
        const now = new Date();
        let text = '';
        for (let seq = written; seq < due; seq++) text += `${now.toISOString()} ${runTag} seq=${String(seq).padStart(8, '0')} ${padding}\n`;
        writeSync(fd, text);
        appendedAt.fill(now.getTime(), written, due);
        written = due;
      }
      await new Promise((done) => setTimeout(done, 10));
    }
  } finally {
    closeSync(fd);
  }
}

/** Waits until every line was seen live, or the read-back finds them all, or the deadline. */
async function drain(query: CanaryQuery, total: number, seen: () => number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReadBack = 0;
  while (Date.now() < deadline) {
    if (seen() >= total) return;
    if (Date.now() - lastReadBack > 2000) {
      lastReadBack = Date.now();
      const distinct = new Set((await readAllRunLines(query)).map((entry) => seqOf(entry.logline)));
      if (distinct.size >= total) return;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
