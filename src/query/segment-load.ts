/**
 * Loading segments a query listed: a segment can vanish between listing and loading (merged
 * by an append or deleted by retention meanwhile); the query then starts again from a fresh
 * listing, and on its last attempt skips what is gone (deleted for good: its lines are gone).
 */
import type { SegmentBackend, SegmentMeta } from './backend.js';
import type { Matcher } from './types.js';
import { decodeSegment, decodeSegmentAsync, parsePayload, type DecodedSegment } from '../segment/codec.js';
import type { CompiledMatch } from './matcher.js';
import { filteredPayloadSliced, filteredSegment } from './segment-filter.js';
import type { TimeSlice } from './time-slice.js';

/** Work a walk can hand elsewhere (CountPool's worker threads); each answers undefined when it cannot take one now. */
export interface Offload {
  /** A segment blob's payload, decompressed elsewhere. */
  inflate(blob: Buffer): Promise<Buffer> | undefined;
  /** The payload of only the blob's lines `matchers` match (empty when none does), decompressed and filtered elsewhere. */
  filter(blob: Buffer, ascii: boolean, matchers: readonly Matcher[]): Promise<Buffer> | undefined;
}

/** What a walk that filters ahead keeps of each segment: the lines its matchers match, cached as the variant `variant`. */
export interface AheadFilter {
  matchers: readonly Matcher[];
  /** The same, compiled. */
  match: CompiledMatch;
  variant: string;
  /** The walk's turns on the main thread, taken while a segment is filtered here. */
  slice: TimeSlice;
}

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
 * The segment cut down to the lines `filter` matches, from the query's
 * variant in the decoded cache or decoded here and cached there; null only on the last attempt,
 * when it is gone.
 */
export async function loadFiltered(backend: SegmentBackend, meta: SegmentMeta, lastAttempt: boolean, filter: AheadFilter): Promise<DecodedSegment | null> {
  const cache = backend.decodedCache;
  const cached = cache?.get(meta, filter.variant);
  if (cached !== undefined) return cached;
  const data = await loadData(backend, meta, lastAttempt);
  if (data === null) return null;
  const segment = filteredSegment(await filteredPayloadSliced(data, meta.ascii, filter.match, filter.slice));
  cache?.add(meta, segment, filter.variant);
  return segment;
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
 *
 * With a filter (a walk whose query tests its lines), a worker decompresses the segment and
 * keeps only the lines the query's matchers match: the walk gets those (it tests them again,
 * with its time range, seqs and cursor, as it tests every line), and they are cached as that
 * query's variant of the segment, where the next page finds them. A walk through every match
 * of a common term then parses and collects a few lines of a segment, not all of it. With no
 * worker room nothing is done ahead: the walk filters the segment itself, in its own turns.
 */
export class Prefetch {
  /** Started and not taken yet, each with where it stands in the walk's listing. */
  private readonly pending = new Map<string, { decoded: Promise<DecodedSegment | undefined>; upcoming: readonly SegmentMeta[]; index: number }>();
  private inFlight = 0;

  constructor(
    private readonly backend: SegmentBackend,
    private readonly depth: number,
    private readonly offload?: Offload,
    private readonly filter?: AheadFilter,
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
    const filter = this.filter;
    if (cache === undefined || !this.hasRoom || this.pending.has(meta.id) || cache.has(meta)) return;
    if (filter !== undefined && cache.has(meta, filter.variant)) return;
    this.inFlight++;
    const decoded = (async () => {
      try {
        const data = await this.backend.loadData(meta);
        if (data === null) return undefined;
        if (filter !== undefined) {
          // On a worker with room, else not ahead: the walk filters it here in its own turn when it gets there.
          const elsewhere = this.offload?.filter(data, meta.ascii, filter.matchers);
          if (elsewhere === undefined) return undefined;
          const segment = filteredSegment(await elsewhere);
          cache.add(meta, segment, filter.variant);
          return segment;
        }
        const elsewhere = this.offload?.inflate(data);
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
