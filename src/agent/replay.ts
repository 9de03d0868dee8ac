/**
 * `henrik replay-dead-letter`: sends the dead-letter file's requests to Daniel again, after
 * the cause was fixed (a setting, a Daniel upgrade). Daniel recognises lines it already has
 * (same host, file id, offset), so replaying twice stores nothing twice. What Daniel refuses
 * again goes back into the dead-letter file, with the new reason; what could not be sent
 * (Daniel unreachable) goes back as it was. The files being replayed are first renamed to
 * `dead-letter.ndjson.replaying-*`, so an interrupted replay loses nothing: the next replay
 * takes them up first. It may run while Henrik runs.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEAD_LETTER_FILE, DeadLetters, readDeadLetters } from './dead-letter.js';
import { Sender } from './delivery.js';
import { defaultBackoff, type BackoffOptions } from './retry.js';
import { Shipper } from './shipper.js';
import type { AgentLog } from './events.js';

export interface ReplayOptions {
  server: string;
  token: string;
  stateDir: string;
  log: AgentLog;
  backoff?: BackoffOptions;
  /** Give up after this long without a delivery (default 60 s). */
  giveUpAfterMs?: number;
  requestTimeoutMs?: number;
}

export interface ReplayResult {
  /** Entries read from the dead-letter files. */
  entries: number;
  /** Lines Daniel stored now, and lines it already had. */
  stored: number;
  duplicates: number;
  /** Lines Daniel refused again (back in the dead-letter file, with the new reason). */
  refused: number;
  /** Entries put back unsent (Daniel unreachable, or a body that could not be read). */
  left: number;
}

const REPLAYING = `${DEAD_LETTER_FILE}.replaying-`;

export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayResult> {
  const dir = options.stateDir;
  const live = path.join(dir, DEAD_LETTER_FILE);
  const stamp = Date.now();
  // Oldest first: an interrupted replay's files, then the rotated file, then the live one.
  for (const [name, order] of [[`${DEAD_LETTER_FILE}.1`, 1], [DEAD_LETTER_FILE, 2]] as const) {
    await fsp.rename(path.join(dir, name), path.join(dir, `${REPLAYING}${stamp}-${order}`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(REPLAYING)).sort(byStampAndOrder);
  const deadLetters = new DeadLetters({ stateDir: dir, log: options.log, logIntervalMs: 0 });
  const shipper = new Shipper({ server: options.server, token: options.token, timeoutMs: options.requestTimeoutMs });
  const stop = new AbortController();
  const sender = new Sender(
    { shipper, deadLetters, backoff: options.backoff ?? defaultBackoff, giveUpAfterMs: options.giveUpAfterMs ?? 60_000, log: options.log },
    stop.signal,
    () => stop.abort(),
  );
  const result: ReplayResult = { entries: 0, stored: 0, duplicates: 0, refused: 0, left: 0 };
  try {
    for (const name of names) {
      const file = path.join(dir, name);
      const { entries, unreadable } = await readDeadLetters(file);
      if (unreadable > 0) options.log('dead_letter_replay_skipped', { file, lines: unreadable });
      for (const entry of entries) {
        result.entries++;
        if (sender.failure !== undefined || typeof entry.request === 'string') {
          await deadLetters.keep(entry);
          result.left++;
          continue;
        }
        const sent = await sender.send(gzipSync(JSON.stringify(entry.request), { level: 1 }), entry.request);
        if (!sent) {
          await deadLetters.keep(entry);
          result.left++;
        }
      }
      await deadLetters.idle();
      await fsp.rm(file, { force: true });
    }
  } finally {
    shipper.close();
  }
  result.stored = sender.deliveredLines;
  result.duplicates = sender.duplicateLines;
  result.refused = sender.rejectedLines;
  options.log('dead_letter_replay', {
    entries: result.entries,
    stored: result.stored,
    duplicates: result.duplicates,
    refused_again: result.refused,
    put_back: result.left,
    file: result.refused + result.left > 0 ? live : undefined,
    stopped: sender.failure,
  });
  return result;
}

function byStampAndOrder(a: string, b: string): number {
  const key = (n: string): [number, number] => {
    const [stamp, order] = n.slice(REPLAYING.length).split('-').map(Number);
    return [stamp ?? 0, order ?? 0];
  };
  const [sa, oa] = key(a);
  const [sb, ob] = key(b);
  return sa !== sb ? sa - sb : oa - ob;
}
