/**
 * What to do with an answer from Daniel: the one table (as Vector's http sink has it).
 * 2xx delivered; 408, 429 and 5xx but 501 retried with backoff; 401/403 mean the token is
 * wrong, which no amount of dead-lettering fixes, so they wait (or fail a `--once`);
 * any other 4xx is rejected: dead-lettered, never retried forever.
 */

export type StatusClass = 'delivered' | 'retry' | 'unauthorized' | 'rejected';

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'delivered';
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
