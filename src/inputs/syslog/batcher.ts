/**
 * Syslog messages -> PushSink batches: entries are grouped by (host, filename) and pushed at
 * `maxBatch` entries or `maxBatchBytes`, or after `flushMs`, one push at a time. A stream has no
 * request boundaries, so the batch is Daniel's to choose: under load it is large enough that
 * the store writes it as one segment, once (an append of less is merged with its neighbours
 * and encoded again), with one commit, while a quiet sender's lines still wait at most `flushMs`.
 * While a push is in flight or being retried the entries wait here, up to `maxPendingEntries` /
 * `maxPendingBytes`; past that the batcher is `behind`: stream listeners stop reading (TCP
 * back-pressure reaches the sender) and datagrams are dropped and counted. Syslog has no
 * acknowledgement, so a push the store refuses for a while (RATE_LIMITED, STORE_UNAVAILABLE)
 * is retried here until it is stored.
 */
import { nameProblem } from '../../protocol/names.js';
import type { PushedBatch, PushedEntry, PushSink } from '../sink.js';
import type { SyslogMessage } from './parse.js';

export interface SyslogLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface BatcherOptions {
  sink: PushSink;
  log: SyslogLog;
  /** Entries per push (default 5,000). */
  maxBatch?: number;
  /** Bytes of text per push, counted as `maxPendingBytes` counts them (default 512 KiB). */
  maxBatchBytes?: number;
  /** How long the first entry of a batch may wait (default 50 ms). */
  flushMs?: number;
  /** Entries waiting before listeners are held back (default 50,000). */
  maxPendingEntries?: number;
  /** Bytes of text waiting before listeners are held back (default 16 MiB). */
  maxPendingBytes?: number;
  /** First retry delay after a failed push (default 100 ms, doubling up to 5 s). */
  retryMs?: number;
}

/** What the batcher has done, for logs, tests and the bench. */
export interface BatcherCounts {
  /** Entries the sink stored (duplicates included). */
  stored: number;
  /** Entries the sink refused (a host or filename it would not take). */
  refused: number;
  /** Datagrams dropped because the batcher was behind. */
  dropped: number;
  /** Pushes that failed and were retried. */
  retries: number;
}

interface Group {
  batch: PushedBatch;
}

const MAX_RETRY_MS = 5_000;
/** Host and app names whose check is remembered (cleared when full: a bound, not a cache policy). */
const NAMES_KEPT = 1_024;

/** `::ffff:10.0.0.1` -> `10.0.0.1`. */
export function peerHost(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class SyslogBatcher {
  readonly counts: BatcherCounts = { stored: 0, refused: 0, dropped: 0, retries: 0 };
  private readonly sink: PushSink;
  private readonly log: SyslogLog;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly flushMs: number;
  private readonly maxPendingEntries: number;
  private readonly maxPendingBytes: number;
  private readonly retryMs: number;
  private groups = new Map<string, Group>();
  /** The group the last message went to (one of `groups`). */
  private lastGroup: Group | undefined;
  private readonly names = new Map<string, boolean>();
  private pendingEntries = 0;
  private pendingBytes = 0;
  /** Entries handed to the sink and not yet stored. */
  private inFlightEntries = 0;
  private inFlightBytes = 0;
  private pushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly drainWaiters = new Set<() => void>();
  private lastRefusalLog = 0;
  private lastDropLog = 0;
  /** Set when a stop gave up waiting for the store: a failing push is not retried again. */
  private abandonOnClose = false;

  constructor(options: BatcherOptions) {
    this.sink = options.sink;
    this.log = options.log;
    this.maxBatch = options.maxBatch ?? 5_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.flushMs = options.flushMs ?? 50;
    this.maxPendingEntries = options.maxPendingEntries ?? 50_000;
    this.maxPendingBytes = options.maxPendingBytes ?? 16 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 100;
  }

  /** True while listeners should hold back: too much is waiting for the store. */
  get behind(): boolean {
    return (
      this.pendingEntries + this.inFlightEntries >= this.maxPendingEntries ||
      this.pendingBytes + this.inFlightBytes >= this.maxPendingBytes
    );
  }

  /** Calls `resume` once, when the batcher is no longer behind. */
  onDrain(resume: () => void): void {
    if (!this.behind) {
      resume();
      return;
    }
    this.drainWaiters.add(resume);
  }

  /** Whether a HOSTNAME or APP-NAME may name a host or source; the last few answers are kept. */
  private goodName(name: string): boolean {
    let good = this.names.get(name);
    if (good === undefined) {
      good = nameProblem(name) === undefined;
      if (this.names.size >= NAMES_KEPT) this.names.clear();
      this.names.set(name, good);
    }
    return good;
  }

  /** Whether what waits makes a batch of its own (or holds the listeners back, so waiting for the timer gains nothing). */
  private get full(): boolean {
    return this.pendingEntries >= this.maxBatch || this.pendingBytes >= this.maxBatchBytes || this.behind;
  }

  /** Counts a datagram dropped by a listener because the batcher was behind. */
  drop(): void {
    this.counts.dropped++;
    if (Date.now() - this.lastDropLog > 10_000) {
      this.lastDropLog = Date.now();
      this.log.warn('syslog datagrams dropped: the store is behind', { dropped: this.counts.dropped });
    }
  }

  /** Adds one message from `peer`; the caller checked `behind` if it wants to drop instead. */
  add(message: SyslogMessage, peer: string, arrivalNs: bigint): void {
    const host = message.hostname !== undefined && this.goodName(message.hostname) ? message.hostname : peer;
    const filename = message.app !== undefined && this.goodName(message.app) ? message.app : 'syslog';
    const entry: PushedEntry = { timestamp: message.timestamp ?? arrivalNs, line: message.text, fields: message.fields };
    // A sender's messages mostly come from one host and app in a row: the last group is looked up once.
    let group = this.lastGroup;
    if (group === undefined || group.batch.host !== host || group.batch.filename !== filename) {
      const key = `${host}\n${filename}`;
      group = this.groups.get(key);
      if (group === undefined) {
        group = { batch: { host, filename, entries: [] } };
        this.groups.set(key, group);
      }
      this.lastGroup = group;
    }
    group.batch.entries.push(entry);
    this.pendingEntries++;
    this.pendingBytes += message.text.length + 64;
    if (this.full) this.flushSoon(0);
    else this.flushSoon(this.flushMs);
  }

  private flushSoon(delayMs: number): void {
    if (this.closed || this.pushing !== undefined) return;
    if (delayMs === 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.pushing = this.pushPending();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.pushing === undefined) this.pushing = this.pushPending();
    }, delayMs);
  }

  /** Takes what waits, pushes it until stored, then goes on while more waits. */
  private async pushPending(): Promise<void> {
    while (this.pendingEntries > 0) {
      const batches = [...this.groups.values()].map((group) => group.batch);
      const entries = this.pendingEntries;
      const bytes = this.pendingBytes;
      this.groups = new Map();
      this.lastGroup = undefined;
      this.pendingEntries = 0;
      this.pendingBytes = 0;
      this.inFlightEntries = entries;
      this.inFlightBytes = bytes;
      await this.pushUntilStored(batches);
      this.inFlightEntries = 0;
      this.inFlightBytes = 0;
      this.wakeDrainWaiters();
      // Less than a batch waits: give it the rest of its time (the next add flushes when full).
      if (!this.full && !this.closed) break;
    }
    this.pushing = undefined;
    if (this.pendingEntries > 0) this.flushSoon(this.closed ? 0 : this.flushMs);
  }

  private async pushUntilStored(batches: PushedBatch[]): Promise<void> {
    let delay = this.retryMs;
    for (;;) {
      try {
        const result = await this.sink.push(batches, {});
        this.counts.stored += result.accepted + result.duplicates;
        let refused = 0;
        for (const rejection of result.rejected) {
          refused += rejection.entry === undefined ? (batches[rejection.batch]?.entries.length ?? 0) : 1;
        }
        this.counts.refused += refused;
        if (result.rejected.length > 0 && Date.now() - this.lastRefusalLog > 10_000) {
          this.lastRefusalLog = Date.now();
          const first = result.rejected[0];
          this.log.warn('syslog entries refused by the store', {
            refused,
            code: first?.code,
            reason: first?.message,
            host: first === undefined ? undefined : batches[first.batch]?.host,
          });
        }
        return;
      } catch (error) {
        this.counts.retries++;
        if (this.counts.retries === 1 || this.counts.retries % 100 === 0) {
          this.log.warn('syslog push failed; retrying (listeners hold back meanwhile)', {
            code: (error as { code?: unknown }).code,
            message: (error as Error).message,
            retries: this.counts.retries,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, MAX_RETRY_MS);
        if (this.closed && this.abandonOnClose) return;
      }
    }
  }

  private wakeDrainWaiters(): void {
    if (this.behind || this.drainWaiters.size === 0) return;
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const resume of waiters) resume();
  }

  /**
   * Pushes what waits and stops. Entries the store still refuses after `graceMs` are given up
   * (counted in the log), so a stop never hangs on a store that is gone.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pushing === undefined && this.pendingEntries > 0) this.pushing = this.pushPending();
    const pushing = this.pushing;
    if (pushing === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      pushing.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      this.abandonOnClose = true;
      this.log.warn('syslog entries not stored at stop: the store did not take them in time', {
        entries: this.pendingEntries + this.inFlightEntries,
      });
    }
  }
}
