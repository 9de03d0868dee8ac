/**
 * What a segment-based store must provide so the shared query engine (src/query/) can answer
 * search, context, histogram and tail over it. The engine does the bloom checks, the
 * decompression, the scanning, the ordering and the cursors; a backend only lists segment
 * metadata and hands back the bytes it was given at write time.
 *
 * A segment is a run of consecutive lines of one file identity (one host, file id, filename
 * and path), encoded by `encodeSegment` (src/segment/codec.ts) into two byte strings:
 * `data` (the compressed lines) and `bloom` (their trigram filter), plus the metadata below.
 * Store the metadata so it can be listed by the conditions of `SegmentListQuery`, and the
 * two byte strings so they can be fetched by segment id. Segments of one file identity never
 * overlap in offsets. Every line carries its seq inside the blob; seqs never change, even
 * when segments are merged (compaction) or deleted (retention).
 *
 * Implementing it on DynamoDB, for example: one item per segment (data + bloom well under the
 * 400 KB item limit; keep encoded segments around 1 MiB of raw text), key by host (+ shard)
 * and max timestamp; `listSegments` = Query per host (or a Scan / GSI for "every host"),
 * filtered client-side with `segmentMatchesList`; `loadData` / `loadBloom` = GetItem (cache
 * the item if both are stored together); `lastSeq` = a counter item updated in the same
 * TransactWriteItems as the segments.
 */
import type { SegmentMeta } from '../segment/meta.js';
import type { FieldStats } from './field-stats.js';
import type { DecodedCache } from './decoded-cache.js';

export type { SegmentMeta } from '../segment/meta.js';

/**
 * Which segments may hold wanted lines. Every condition is optional; all given ones apply.
 * A backend may return more segments than asked (the engine re-checks every line) but never
 * fewer; the order of the answer does not matter.
 */
export interface SegmentListQuery {
  /** Only these hosts (undefined or empty: every host). */
  hosts?: readonly string[];
  /** Only these filenames (undefined or empty: every file). */
  files?: readonly string[];
  /** Only this file identity (with `hosts` holding its one host). */
  fileId?: string;
  /** Only segments with maxTimestamp >= this (ns). */
  minTimestamp?: bigint;
  /** Only segments with minTimestamp < this (ns). */
  beforeTimestamp?: bigint;
  /** Only segments with minSeq <= this (the snapshot of a paging). */
  minSeqAtMost?: number;
  /** Only segments with maxSeq > this (live tail). */
  maxSeqAbove?: number;
}

export interface SegmentBackend {
  listSegments(query: SegmentListQuery): Promise<SegmentMeta[]>;
  /**
   * Optional: what `listSegments(query)` answers, read lazily in the order a search visits it,
   * in pages: `desc` by maxTimestamp descending, `asc` by minTimestamp ascending, ties in any
   * order, each page continuing the order of the one before. The engine stops pulling pages as
   * soon as its top is settled, so a backend whose listing is remote (DynamoDB) reads only as
   * far as the query needs. Undefined when the backend has no lazy listing of that order: the
   * engine then lists everything and sorts. An in-memory listing may answer one page, kept
   * sorted between queries.
   */
  listSegmentsInOrder?(query: SegmentListQuery, order: 'asc' | 'desc'): AsyncIterable<SegmentMeta[]> | Iterable<SegmentMeta[]> | undefined;
  /** The bloom written with the segment; null when the segment no longer exists. */
  loadBloom(segment: SegmentMeta): Promise<Uint8Array | null>;
  /**
   * Optional: a smaller bloom the backend holds in memory for this segment (a valid bloom of
   * the same text, e.g. the full one folded), or undefined when it has none at hand. When
   * there is one, the engine decides by it alone (a false positive costs a decode) and loads
   * the full bloom only for segments without one, or when the summary admits a query whose
   * whole-token probe (a trace id) is all that can rule segments out.
   */
  bloomSummary?(segment: SegmentMeta): Uint8Array | undefined;
  /** The data blob written with the segment; null when the segment no longer exists. */
  loadData(segment: SegmentMeta): Promise<Buffer | null>;
  /** The highest seq durable now (0 when empty). */
  lastSeq(): Promise<number>;
  /**
   * Optional: the segment's field statistics (field-stats.ts), when the backend has computed
   * them; undefined when it has none for this segment (yet), and the engine reads its lines.
   * A backend holding them in memory may answer at once instead of with a promise.
   */
  loadFieldStats?(segment: SegmentMeta): FieldStats | undefined | Promise<FieldStats | undefined>;
  /**
   * Optional: decoded segments the backend keeps in memory (decoded-cache.ts). The backend
   * must delete a segment's entry when it deletes the segment (or clear the cache), so a
   * segment gone since it was listed still reads as vanished.
   */
  readonly decodedCache?: DecodedCache;
}

/** The reference reading of a SegmentListQuery, for backends that filter client-side. */
export function segmentMatchesList(segment: SegmentMeta, query: SegmentListQuery): boolean {
  return (
    (!query.hosts?.length || query.hosts.includes(segment.host)) &&
    (!query.files?.length || query.files.includes(segment.filename)) &&
    (query.fileId === undefined || segment.fileId === query.fileId) &&
    (query.minTimestamp === undefined || segment.maxTimestamp >= query.minTimestamp) &&
    (query.beforeTimestamp === undefined || segment.minTimestamp < query.beforeTimestamp) &&
    (query.minSeqAtMost === undefined || segment.minSeq <= query.minSeqAtMost) &&
    (query.maxSeqAbove === undefined || segment.maxSeq > query.maxSeqAbove)
  );
}
