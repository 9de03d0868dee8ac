/**
 * A segment's metadata, declared once. The codec measures `SegmentStats` while encoding
 * (it is part of `EncodedSegment`); a store adds the file the lines came from, its own id
 * and the arrival times, and indexes the whole `SegmentMeta` so queries can list candidate
 * segments without reading a blob.
 */

/** What the codec measures of a run of lines. */
export interface SegmentStats {
  lineCount: number;
  /** UTF-8 bytes of the lines' text, without line endings. */
  rawBytes: number;
  /** True when every line is ASCII (case-insensitive search may then trust the bloom). */
  ascii: boolean;
  /** Offset of the first line. */
  firstOffset: number;
  /** Offset just after the last line. */
  endOffset: number;
  minTimestamp: bigint;
  maxTimestamp: bigint;
  minSeq: number;
  maxSeq: number;
}

/** The file identity a segment's lines belong to. */
export interface SegmentFile {
  host: string;
  fileId: string;
  filename: string;
  path: string;
}

/** One segment's metadata: what listing returns; never the blobs. */
export interface SegmentMeta extends SegmentFile, SegmentStats {
  /** Backend-chosen, unique for the segment's lifetime; a merged segment gets a new id. */
  id: string;
  /** Arrival times (ns) of the oldest and newest append whose lines it holds; retention uses the newest. */
  minArrival: bigint;
  maxArrival: bigint;
}

/** The metadata of a freshly encoded segment, for writers. */
export function segmentMetaOf(
  id: string,
  encoded: SegmentStats,
  file: SegmentFile,
  arrival: { minArrival: bigint; maxArrival: bigint },
): SegmentMeta {
  // One literal, no spreads: every metadata object a writer makes shares one hidden class.
  return {
    id,
    host: file.host,
    fileId: file.fileId,
    filename: file.filename,
    path: file.path,
    firstOffset: encoded.firstOffset,
    endOffset: encoded.endOffset,
    minTimestamp: encoded.minTimestamp,
    maxTimestamp: encoded.maxTimestamp,
    minSeq: encoded.minSeq,
    maxSeq: encoded.maxSeq,
    lineCount: encoded.lineCount,
    rawBytes: encoded.rawBytes,
    ascii: encoded.ascii,
    minArrival: arrival.minArrival,
    maxArrival: arrival.maxArrival,
  };
}
