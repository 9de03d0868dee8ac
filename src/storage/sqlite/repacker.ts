/**
 * Compresses sealed segments again while Daniel is idle. An append compresses its text at
 * Zstandard level 1 (segment/compression.ts), the level that keeps up with ingest; a sealed
 * segment never changes again, so once appends and reads pause, the repacker has the encode
 * worker (encode-pool.ts) compress each one whole at REPACK_LEVEL, its lines' variables in
 * columns apart from their templates (segment/variable-columns.ts), and writes the smaller
 * blob in place of the first, newest segments first. The payload is the same bytes (the
 * worker decodes and compares before it answers), so readers, caches and cursors see no
 * change. A Daniel before data format 3 cannot decode those blobs, and refuses the data dir.
 *
 * Idle means: no append for `idleMs`, no read running nor one ended within `readPauseMs`, and
 * the main thread busy less than `busyShare` of the last half second or more (it answers
 * requests that are neither, such as /healthz under load). The work runs on a worker of its
 * own at the lowest scheduling priority (encode-pool.ts, background), so appends' own encoding
 * never waits behind it, one segment at a time, 32 KiB of it between two looks at a flag: an
 * append or a read that starts meanwhile sets it, and the worker drops the segment within
 * about a millisecond (it is done again later), so neither shares a core with it for longer.
 * The worker is started when there is work and closed when none is left. A server that never
 * goes a second without an append does not repack: with the main thread's business as the
 * only gate (repacking beside moderate ingest), the one full bench run had its 256-tail
 * memory, journal and /healthz figures fall past their targets, and that gate was not kept.
 *
 * A store created with `auto_vacuum = INCREMENTAL` (every store since the repacker) also gets
 * its freed pages back from the file a few at a time (`releasePages`) between segments, so the
 * bytes saved, and those of segments deleted by retention, leave the disk; an older store
 * reuses them for later appends instead.
 */
import { performance } from 'node:perf_hooks';
import { REPACK_LEVEL } from '../../segment/compression.js';
import { EncodePool } from './encode-pool.js';
import type { SqliteSegments, StoredSegment } from './sqlite-segments.js';
import { StoreActivity } from './store-activity.js';

export interface RepackerOptions {
  /** Zstandard level of the repacked blobs. */
  level?: number;
  /** Quiet time after the last append before repacking starts (ms). */
  idleMs?: number;
  /** Quiet time after the last read before repacking resumes (ms). */
  readPauseMs?: number;
  /** Share of the main thread's time over which Daniel counts as busy (0-1). */
  busyShare?: number;
  /** Free pages given back to the file a turn. */
  releasePages?: number;
}

export interface RepackerStore {
  segments: SqliteSegments;
  /** Runs `work` in a transaction of the store. */
  write<T>(work: () => T): T;
  /** Free pages the file could give back (0 when it cannot: no incremental auto-vacuum). */
  freePages(): number;
  /** Gives up to `pages` free pages back to the file system. */
  releasePages(pages: number): void;
}

/** How long a busy Daniel is left alone before the next look (ms). */
const BUSY_BACKOFF_MS = 1000;
/** The shortest window the main thread's business is measured over (ms). */
const BUSY_WINDOW_MS = 500;

export class SegmentRepacker {
  private readonly level: number;
  private readonly idleMs: number;
  private readonly readPauseMs: number;
  private readonly busyShare: number;
  private readonly pagesATurn: number;
  private timer: NodeJS.Timeout | undefined;
  private working = false;
  private stopped = false;
  private queue: StoredSegment[] = [];
  /** Segments this process could not repack (an unreadable blob), not tried again until a restart. */
  private readonly skipped = new Set<string>();
  /** The background worker, while there is work. */
  private pool: EncodePool | undefined;
  private windowStart = performance.now();
  private windowUse = performance.eventLoopUtilization();
  private busy = false;
  /** Segments repacked (their blob replaced), and their blobs' bytes before and after, since start. */
  repacked = 0;
  bytesBefore = 0;
  bytesAfter = 0;

  constructor(
    private readonly store: RepackerStore,
    options: RepackerOptions = {},
    private readonly activity = new StoreActivity(),
  ) {
    this.level = options.level ?? REPACK_LEVEL;
    this.idleMs = options.idleMs ?? 1000;
    this.readPauseMs = options.readPauseMs ?? 500;
    this.busyShare = options.busyShare ?? 0.5;
    this.pagesATurn = options.releasePages ?? 256;
    // An append or a read stops the segment in the worker at once, and postpones the work until they pause.
    activity.listen(() => {
      this.pool?.interruptRepack();
      this.schedule(this.idleMs);
    });
  }

  start(): void {
    this.schedule(this.idleMs);
  }

  /** Stops looking for work, and the worker. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.closePool();
  }

  private async closePool(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.working || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.turn();
    }, delayMs);
    this.timer.unref();
  }

  /** How long to wait before working, 0 when Daniel is idle now. */
  private waitMs(): number {
    const wait = this.activity.waitMs(this.idleMs, this.readPauseMs);
    if (wait > 0) return wait;
    const now = performance.now();
    if (now - this.windowStart >= BUSY_WINDOW_MS) {
      this.busy = performance.eventLoopUtilization(this.windowUse).utilization > this.busyShare;
      this.windowUse = performance.eventLoopUtilization();
      this.windowStart = now;
    }
    return this.busy ? BUSY_BACKOFF_MS : 0;
  }

  private async turn(): Promise<void> {
    if (this.stopped) return;
    const wait = this.waitMs();
    if (wait > 0) return this.schedule(wait);
    this.working = true;
    let more: boolean;
    try {
      more = await this.step();
    } catch {
      // The store closed or failed under us: a later append or open starts again.
      this.queue = [];
      more = false;
    } finally {
      this.working = false;
    }
    if (more) this.schedule(0);
    else await this.closePool();
  }

  /** One segment repacked, or some pages given back; false when nothing is left to do. */
  async step(): Promise<boolean> {
    const store = this.store;
    if (store.freePages() > 0) {
      store.releasePages(this.pagesATurn);
      return true;
    }
    const segment = this.nextSegment();
    if (segment === undefined) return false;
    let before: Buffer;
    try {
      before = store.segments.dataNow(segment.id);
    } catch {
      this.skipped.add(segment.id); // its blob cannot be read: left as it is, by this process at least
      return true;
    }
    this.pool ??= new EncodePool(true);
    const repacked = await this.pool.repack(before, this.level);
    // Not done (the worker is gone): the segment stays to do, and so does the rest.
    if (repacked === undefined || this.stopped) return false;
    // Stopped for an append or a read: the segment is done again later.
    if (repacked === 'stopped') return true;
    if (repacked === 'failed') {
      this.skipped.add(segment.id); // its blob does not decode: left as it is, by this process at least
      return true;
    }
    const saved = store.write(() => store.segments.saveRepacked(segment, before, repacked ?? undefined));
    if (saved && repacked !== null) {
      this.repacked++;
      this.bytesBefore += before.length;
      this.bytesAfter += repacked.length;
    } else if (!saved) {
      this.skipped.add(segment.id);
    }
    return true;
  }

  /** Repacks every segment and gives back every free page now (tests). */
  async runToEnd(): Promise<number> {
    let steps = 0;
    while (await this.step()) steps++;
    return steps;
  }

  private nextSegment(): StoredSegment | undefined {
    for (;;) {
      if (this.queue.length === 0) this.queue = this.store.segments.toRepackNext(64 + this.skipped.size).filter((segment) => !this.skipped.has(segment.id));
      const segment = this.queue.shift();
      if (segment === undefined) return undefined;
      if (this.store.segments.stillThere(segment) !== undefined) return segment;
    }
  }
}
