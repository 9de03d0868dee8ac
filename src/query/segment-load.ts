/**
 * Loading segments a query listed: a segment can vanish between listing and loading (merged
 * by an append or deleted by retention meanwhile); the query then starts again from a fresh
 * listing, and on its last attempt skips what is gone (deleted for good: its lines are gone).
 */
import type { SegmentBackend, SegmentMeta } from './backend.js';
import { decodeSegment, decodeSegmentAsync, parsePayload, type DecodedSegment } from '../segment/codec.js';

/** Decompresses a segment blob elsewhere (a worker thread, CountPool.inflate): undefined when it cannot take one now. */
export type Inflater = (blob: Buffer) => Promise<Buffer> | undefined;

/** A segment listed earlier was gone when loaded: the query starts again. */
export class SegmentVanished extends Error {}

const ATTEMPTS = 3;

export async function retryOnVanished<T>(run: (lastAttempt: boolean) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt === ATTEMPTS);
    } catch (error) {
      if (!(error instanceof SegmentVanished) || attempt === ATTEMPTS) throw error;
    }
  }
}

/** The segment's blob; null only on the last attempt, when it is gone. */
export async function loadData(backend: SegmentBackend, meta: SegmentMeta, lastAttempt: boolean): Promise<Buffer | null> {
  const data = await backend.loadData(meta);
  if (data === null && !lastAttempt) throw new SegmentVanished();
  return data;
}

export async function loadDecoded(backend: SegmentBackend, meta: SegmentMeta, lastAttempt: boolean): Promise<DecodedSegment | null> {
  const cache = backend.decodedCache;
  const cached = cache?.get(meta);
  if (cached !== undefined) return cached;
  const data = await loadData(backend, meta, lastAttempt);
  if (data === null) return null;
  const decoded = decodeSegment(data);
  cache?.add(meta, decoded);
  return decoded;
}

/**
 * Decoding ahead of a long walk. A search that reads many segments (a page of thousands of
 * matches, paging through every match of a common term) spends much of its main-thread time
 * decompressing them one after another, while the second core idles. Once a walk has opened
 * a few segments, it names the next candidates here and their blobs are decompressed on a
 * count worker (`inflate`: Zstandard, which has no asynchronous call) or on libuv's thread
 * pool (deflate, brotli) while the main thread scans the current one; the payload is parsed
 * here, and each lands in the backend's decoded cache, so the walk (or the next page) finds
 * it there. A worker with no room, or none at all, leaves a Zstandard blob to be decompressed
 * on the main thread as before. Only for a backend with a decoded cache (a local store: a
 * remote read would cost a request whether used or not), at most `depth` at once. A prefetch that fails for any reason is forgotten: the walk then loads
 * the segment itself, and meets the error (or the vanished segment) as it always did.
 */
export class Prefetch {
  /** Started and not taken yet, each with where it stands in the walk's listing. */
  private readonly pending = new Map<string, { decoded: Promise<DecodedSegment | undefined>; upcoming: readonly SegmentMeta[]; index: number }>();
  private inFlight = 0;

  constructor(
    private readonly backend: SegmentBackend,
    private readonly depth: number,
    private readonly inflate?: Inflater,
  ) {}

  /**
   * Room for another segment to inflate ahead. A segment holds its place until the walk takes
   * it, not only while it inflates: a walk slower than inflating (a costly regex over every
   * line) would otherwise have started three more on every segment it opened, and held each
   * decoded segment until it got there.
   */
  get hasRoom(): boolean {
    return this.pending.size < this.depth && this.inFlight < this.depth && this.backend.decodedCache !== undefined;
  }

  /**
   * The walk is about to open `upcoming[from - 1]`: what it started for segments it has passed
   * without opening (or of another page of the listing) is dropped, so they hold no place.
   */
  passed(upcoming: readonly SegmentMeta[], from: number): void {
    for (const [id, entry] of this.pending) {
      if (entry.upcoming !== upcoming || entry.index < from - 1) this.pending.delete(id);
    }
  }

  /** Starts inflating `upcoming[index]` unless it is cached or on its way already. */
  start(upcoming: readonly SegmentMeta[], index: number): void {
    const meta = upcoming[index]!;
    const cache = this.backend.decodedCache;
    if (cache === undefined || !this.hasRoom || this.pending.has(meta.id) || cache.has(meta)) return;
    this.inFlight++;
    const decoded = (async () => {
      try {
        const data = await this.backend.loadData(meta);
        if (data === null) return undefined;
        const elsewhere = this.inflate?.(data);
        const segment = elsewhere === undefined ? await decodeSegmentAsync(data) : parsePayload(await elsewhere);
        cache.add(meta, segment);
        return segment;
      } catch {
        return undefined;
      } finally {
        this.inFlight--;
      }
    })();
    this.pending.set(meta.id, { decoded, upcoming, index });
  }

  /** The segment if a prefetch of it succeeded (waiting for it if still on its way). */
  async take(meta: SegmentMeta): Promise<DecodedSegment | undefined> {
    const entry = this.pending.get(meta.id);
    if (entry === undefined) return undefined;
    this.pending.delete(meta.id);
    return entry.decoded;
  }
}
