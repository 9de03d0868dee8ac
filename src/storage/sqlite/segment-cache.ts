/**
 * The bloom summaries the sqlite store keeps in memory, so a search does not start by
 * reading every segment's bloom from SQLite (at 10M lines: ~7,700 blooms, 70 MiB).
 * (The metadata of every segment is kept in memory too, by sqlite-segments.ts: ~400 bytes
 * a segment of ~1,300 lines, 3 MiB at 10M lines.)
 *
 * A bloom summary is the segment's trigram bloom folded to half its size (`foldBloom`:
 * itself a valid bloom with no false negatives, at 4-8 bits per trigram instead of 8-16).
 * The engine decides by the summary alone when there is one: its few extra false positives
 * cost a decode each, less than reading the full bloom of every segment that does match.
 *
 * The summaries are capped by bytes (`bloomCacheBytes`, default 96 MiB). The bench's 10M
 * lines, stored since runs of 128 KiB are sealed at once, are 4,808 segments whose summaries
 * take 67.5 MiB (14 KiB a segment of ~2,100 lines): past the earlier 64 MiB cap, and the cap
 * covers ~14M such lines.
 * When full, the newest segments (highest max seq) are kept, since searches start from the
 * newest lines: a new segment evicts the oldest, and a summary read for a search is held only
 * if it fits, so a scan over more history than fits never churns the cache (those segments'
 * full blooms are read from SQLite instead).
 */
import { foldBloom } from '../../segment/bloom.js';
import type { SegmentMeta } from '../../query/backend.js';

export const DEFAULT_BLOOM_CACHE_BYTES = 96 << 20;
/** Halving keeps 4-8 bits per trigram: a short needle (`INFO`: two trigrams) still rules most segments out. */
const FOLD = 2;
/** Rough bytes of one cached summary besides its bits (Map entry, typed array header). */
const ENTRY_OVERHEAD = 120;

interface Entry<T> {
  value: T;
  maxSeq: number;
  cost: number;
}

/**
 * Values by segment id, capped by bytes (each value's cost is the caller's estimate). When
 * full, the newest segments (highest max seq) are kept and an older one is not admitted: a
 * scan over more history than fits reads the rest from SQLite each time instead of churning
 * what is held (least-recently-used would miss on every segment of a repeated scan). Such a
 * scan offers a value for every old segment it reads: the oldest max seq held is remembered,
 * so turning one away costs no walk over everything held.
 */
export class NewestSegments<T> {
  private readonly byId = new Map<string, Entry<T>>();
  private bytes = 0;
  /** The lowest max seq held; undefined when not known (after its entry left). */
  private oldest: number | undefined = Infinity;
  constructor(protected readonly capBytes: number) {}

  get(id: string): T | undefined {
    return this.byId.get(id)?.value;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Whether `cost` more bytes fit without evicting anything. */
  hasRoomFor(cost: number): boolean {
    return this.bytes + cost <= this.capBytes;
  }

  /**
   * Holds `value` for the segment (replacing what it held), unless the cache is full of newer
   * segments. `evict: false` (a value read for a search) is held only if it fits as things
   * are: a search walks segments by time, not by seq, and letting each read evict what is
   * older by seq made a walk over more segments than fit throw out what the same walk (and
   * the next) read again, every time (at 10M bench lines, a rare needle over all hosts went
   * from ~10 to ~85 ms once the summaries passed the cap). New segments (appends) evict.
   */
  set(segment: { id: string; maxSeq: number }, value: T, cost: number, evict = true): void {
    this.delete(segment.id);
    if (this.capBytes <= 0) return;
    if (this.bytes + cost > this.capBytes) {
      if (!evict) return;
      if (segment.maxSeq <= this.oldestHeld()) return; // nothing older to make room
      if (!this.evictOlderThan(segment.maxSeq, cost)) return;
    }
    this.byId.set(segment.id, { value, maxSeq: segment.maxSeq, cost });
    this.bytes += cost;
    if (this.oldest !== undefined && segment.maxSeq < this.oldest) this.oldest = segment.maxSeq;
  }

  delete(id: string): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.byId.delete(id);
    this.bytes -= entry.cost;
    if (entry.maxSeq === this.oldest) this.oldest = undefined;
  }

  clear(): void {
    this.byId.clear();
    this.bytes = 0;
    this.oldest = Infinity;
  }

  private oldestHeld(): number {
    if (this.oldest === undefined) {
      let oldest = Infinity;
      for (const entry of this.byId.values()) if (entry.maxSeq < oldest) oldest = entry.maxSeq;
      this.oldest = oldest;
    }
    return this.oldest;
  }

  /** Frees room for `cost` bytes by dropping entries older than `maxSeq`, oldest first; false when that cannot be done. */
  private evictOlderThan(maxSeq: number, cost: number): boolean {
    const older = [...this.byId].filter(([, entry]) => entry.maxSeq < maxSeq).sort((a, b) => a[1].maxSeq - b[1].maxSeq);
    let freeable = 0;
    for (const [, entry] of older) freeable += entry.cost;
    if (this.bytes - freeable + cost > this.capBytes) return false;
    // Free a tenth of the cap at once, so a stream of new segments does not sort on every insert.
    const target = Math.max(0, this.capBytes - cost - Math.floor(this.capBytes / 10));
    for (const [id] of older) {
      if (this.bytes <= target) break;
      this.delete(id);
    }
    return true; // every older entry would have freed enough, checked above
  }
}

/** The bloom summaries: folded when offered, kept for the newest segments. */
export class BloomSummaries extends NewestSegments<Uint8Array> {
  /** Caches the summary of a full bloom, unless the cache is full of newer segments (or, with `evict: false`, full at all). */
  add(segment: SegmentMeta, bloom: Uint8Array, evict = true): void {
    if (this.capBytes <= 0 || this.has(segment.id)) return;
    // Not folded only to be turned away: a summary is about half the bloom.
    if (!evict && !this.hasRoomFor(Math.ceil(bloom.length / FOLD) + ENTRY_OVERHEAD)) return;
    const bits = foldBloom(bloom, FOLD);
    this.set(segment, bits, bits.length + ENTRY_OVERHEAD, evict);
  }
}
