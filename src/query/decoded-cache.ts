/**
 * The newest decoded segments a backend keeps in memory, so a search that meets the same
 * segments again (the next page, a refreshed view, another query over the same recent
 * minutes) does not inflate and parse them again: at ~2,400 lines a segment, a decode is
 * most of a millisecond, and a newest-first query over many files decodes the newest segment
 * of each.
 *
 * Keyed by the segment's id and the identity of its contents (host, file id, seq range), so a
 * reused id never answers with another segment's lines. Capped by bytes (the text plus the
 * columns), least recently used out first. The backend deletes a segment's entry when it
 * deletes the segment and clears the cache when it cannot tell what changed, so a segment
 * gone since it was listed still reads as vanished.
 *
 * Besides a segment whole, it holds variants of it: only its lines one query matches, as a
 * count worker filtered them for a long walk (segment-load.ts), keyed by the query's matchers
 * too. Deleting a segment deletes its variants.
 */
import type { SegmentMeta } from '../segment/meta.js';
import type { DecodedSegment } from '../segment/codec.js';

/** Default cap: about 50 segments of the bench's logs. */
export const DEFAULT_DECODED_CACHE_BYTES = 32 << 20;

interface Entry {
  id: string;
  key: string;
  segment: DecodedSegment;
  bytes: number;
}

function contentKey(meta: SegmentMeta): string {
  return `${meta.host}\u0000${meta.fileId}\u0000${meta.minSeq}\u0000${meta.maxSeq}`;
}

/** What an entry costs beyond its lines (the objects and typed arrays themselves): a variant with no line still counts. */
const ENTRY_BYTES = 512;

/** Bytes a decoded segment holds: its text and its per-line columns, and the entry itself. */
export function decodedBytes(segment: DecodedSegment): number {
  return ENTRY_BYTES + segment.text.length + segment.count * (8 * 5 + 4 * 2 + 1);
}

/** Where a segment (or one variant of it) is held. */
function slotOf(id: string, variant: string | undefined): string {
  return variant === undefined ? id : `${id}\u0000${variant}`;
}

export class DecodedCache {
  /** By slot (slotOf); a Map keeps insertion order, so its first entry is the least recently used. */
  private readonly bySlot = new Map<string, Entry>();
  /** The variant slots held of each segment id. */
  private readonly variants = new Map<string, Set<string>>();
  private bytes = 0;

  constructor(private readonly capBytes: number = DEFAULT_DECODED_CACHE_BYTES) {}

  /** The segment whole, or with `variant` the variant of it held under that name. */
  get(meta: SegmentMeta, variant?: string): DecodedSegment | undefined {
    const slot = slotOf(meta.id, variant);
    const entry = this.bySlot.get(slot);
    if (entry === undefined) return undefined;
    if (entry.key !== contentKey(meta)) {
      this.delete(meta.id);
      return undefined;
    }
    // Most recently used: moved to the end.
    this.bySlot.delete(slot);
    this.bySlot.set(slot, entry);
    return entry.segment;
  }

  /** Whether the segment (or that variant of it) is held, without making it the most recently used. */
  has(meta: SegmentMeta, variant?: string): boolean {
    return this.bySlot.get(slotOf(meta.id, variant))?.key === contentKey(meta);
  }

  add(meta: SegmentMeta, segment: DecodedSegment, variant?: string): void {
    const bytes = decodedBytes(segment);
    if (bytes > this.capBytes / 4) return; // one huge segment would push out everything else
    const slot = slotOf(meta.id, variant);
    this.remove(slot);
    this.bySlot.set(slot, { id: meta.id, key: contentKey(meta), segment, bytes });
    if (variant !== undefined) {
      const held = this.variants.get(meta.id);
      if (held === undefined) this.variants.set(meta.id, new Set([slot]));
      else held.add(slot);
    }
    this.bytes += bytes;
    for (const oldest of this.bySlot.keys()) {
      if (this.bytes <= this.capBytes) break;
      this.remove(oldest);
    }
  }

  /** Deletes the segment and every variant of it. */
  delete(id: string): void {
    this.remove(id);
    for (const slot of this.variants.get(id) ?? []) this.remove(slot);
  }

  private remove(slot: string): void {
    const entry = this.bySlot.get(slot);
    if (entry === undefined) return;
    this.bySlot.delete(slot);
    this.bytes -= entry.bytes;
    if (slot !== entry.id) {
      const held = this.variants.get(entry.id);
      held?.delete(slot);
      if (held?.size === 0) this.variants.delete(entry.id);
    }
  }

  clear(): void {
    this.bySlot.clear();
    this.variants.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.bySlot.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
