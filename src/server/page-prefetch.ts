/**
 * The next page of a paging, written while its client still reads this one. A client that has
 * followed one `next` link (its request carries a cursor) is likely to follow the next: when
 * no other search is running, Daniel makes that page at once, as a database reads ahead of a
 * sequential scan, and the client's request for it finds the bytes made or being made. On two
 * cores the search and the JSON of page N+1 then run beside the client's transfer and parse of
 * page N instead of after them.
 *
 * What it may cost and what bounds it:
 * - Work a client never asks for: at most one page a paging, and only after it followed a
 *   link. A page is made only when no search is running, and any search admitted meanwhile
 *   stops it (`stop()`), so it never delays another query.
 * - Memory: at most `maxPages` bodies kept, each for `ttlMs`.
 * - Exactness: the key is the request's own absolute URL and its whole resolved search, cursor
 *   included; the cursor pins the snapshot, so the page is the one the request would make.
 *   Tokens bound to hosts have their hosts in the search (auth.ts), so they are in the key.
 */

import { performance } from 'node:perf_hooks';
import type { SearchQuery } from '../storage/store.js';

/** A page's request as the `next` link of the page before it gives it. */
export interface PageAhead {
  /** The absolute URL, cursor included. */
  url: string;
  search: SearchQuery;
  /** The request's `timeout` parameter. */
  timeout: string | undefined;
}

/** A made page: the response body, and the request of the page after it. */
export interface MadePage {
  body: Buffer;
  next: PageAhead | undefined;
}

interface Kept {
  page: Promise<MadePage | undefined>;
  expires: number;
}

export class PagePrefetch {
  private readonly kept = new Map<string, Kept>();
  private running: { key: string; abort: AbortController } | undefined;
  constructor(
    /** Pages made ahead, and those of them a request took: their difference is work nobody used. */
    private readonly counters: { made(): void; taken(): void } = { made: () => undefined, taken: () => undefined },
    private readonly maxPages = 2,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The page made ahead for `key` (it may still be in the making), or undefined; it is given out once. */
  take(key: string): Promise<MadePage | undefined> | undefined {
    this.expire();
    const kept = this.kept.get(key);
    if (kept === undefined) return undefined;
    this.kept.delete(key);
    this.counters.taken();
    return kept.page;
  }

  /** Makes the page for `key` ahead, unless one is being made already. */
  start(key: string, make: (signal: AbortSignal) => Promise<MadePage | undefined>): void {
    if (this.running !== undefined || this.kept.has(key)) return;
    this.expire();
    while (this.kept.size >= this.maxPages) this.kept.delete(this.kept.keys().next().value!);
    const running = { key, abort: new AbortController() };
    this.running = running;
    this.counters.made();
    const page = make(running.abort.signal)
      .catch(() => undefined) // the request that takes it makes the page itself, and reports any error
      .finally(() => {
        if (this.running === running) this.running = undefined;
      });
    this.kept.set(key, { page, expires: this.now() + this.ttlMs });
  }

  /** Another search was admitted: the page being made stops, and its key is forgotten. */
  stop(): void {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    running.abort.abort();
    this.kept.delete(running.key);
  }

  private expire(): void {
    const now = this.now();
    for (const [key, kept] of this.kept) if (kept.expires <= now) this.kept.delete(key);
  }
}
