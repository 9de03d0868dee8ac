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
 */
import type { SegmentMeta } from '../segment/meta.js';
import type { DecodedSegment } from '../segment/codec.js';

/** Default cap: about 50 segments of the bench's logs. */
export const DEFAULT_DECODED_CACHE_BYTES = 32 << 20;

interface Entry {
  key: string;
  segment: DecodedSegment;
  bytes: number;
}

function contentKey(meta: SegmentMeta): string {
  return `${meta.host}\u0000${meta.fileId}\u0000${meta.minSeq}\u0000${meta.maxSeq}`;
}

/** Bytes a decoded segment holds: its text and its per-line columns. */
export function decodedBytes(segment: DecodedSegment): number {
  return segment.text.length + segment.count * (8 * 5 + 4 * 2 + 1);
}

export class DecodedCache {
  /** By segment id; a Map keeps insertion order, so its first entry is the least recently used. */
  private readonly byId = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly capBytes: number = DEFAULT_DECODED_CACHE_BYTES) {}

  get(meta: SegmentMeta): DecodedSegment | undefined {
    const entry = this.byId.get(meta.id);
    if (entry === undefined) return undefined;
    if (entry.key !== contentKey(meta)) {
      this.delete(meta.id);
      return undefined;
    }
    // Most recently used: moved to the end.
    this.byId.delete(meta.id);
    this.byId.set(meta.id, entry);
    return entry.segment;
  }

  /** Whether the segment is held, without making it the most recently used. */
  has(meta: SegmentMeta): boolean {
    return this.byId.get(meta.id)?.key === contentKey(meta);
  }

  add(meta: SegmentMeta, segment: DecodedSegment): void {
    const bytes = decodedBytes(segment);
    if (bytes > this.capBytes / 4) return; // one huge segment would push out everything else
    this.delete(meta.id);
    this.byId.set(meta.id, { key: contentKey(meta), segment, bytes });
    this.bytes += bytes;
    for (const [id, entry] of this.byId) {
      if (this.bytes <= this.capBytes) break;
      this.byId.delete(id);
      this.bytes -= entry.bytes;
    }
  }

  delete(id: string): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.byId.delete(id);
    this.bytes -= entry.bytes;
  }

  clear(): void {
    this.byId.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.byId.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
