/**
 * What to do with an answer from Daniel: the one table. Only an answer that says this batch
 * can never be stored dead-letters it; anything that is the setting's or the network's fault
 * holds the batch in the spool and retries it:
 * - 2xx delivered (a `rejected` list in the answer names the few lines refused);
 * - 408, 429 and 5xx but 501: retried with backoff (an outage);
 * - 401/403: the token is wrong: held (or fail a `--once`);
 * - 3xx, 404, 405: the address is wrong (an http->https redirect, a proxy without the
 *   route): held, never followed (the token must not go to an address nobody configured);
 * - 413: the batch is too big for a proxy's or Daniel's body limit: split, never dropped;
 * - any other 4xx and 501: rejected, dead-lettered.
 */

export type StatusClass = 'delivered' | 'retry' | 'unauthorized' | 'misrouted' | 'too-large' | 'rejected';

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'delivered';
  if (status >= 300 && status < 400) return 'misrouted';
  if (status === 404 || status === 405) return 'misrouted';
  if (status === 413) return 'too-large';
  if (status === 408 || status === 429) return 'retry';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 500 && status !== 501) return 'retry';
  return 'rejected';
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 200, maxMs: 30_000 };

/** Exponential backoff with jitter: half fixed, half random, so agents don't retry in step. */
export function backoffMs(attempt: number, options: BackoffOptions = defaultBackoff, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `Retry-After` as seconds or an HTTP date -> ms to wait (capped at 10 minutes); undefined if absent or bad. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - nowMs;
  }
  return Math.min(Math.max(0, Math.round(ms)), 600_000);
}
