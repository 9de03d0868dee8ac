/**
 * How an append's run of lines becomes segments. Each run is written as a segment in the
 * append's own transaction (so the lines are durable and searchable at once; there is no
 * separate head table). Small runs are merged like a binary counter: a new run absorbs the
 * trailing unsealed segments of its file identity that are no larger than what it has
 * gathered so far, so a trickling file ends up with O(log n) small segments and every line is
 * re-encoded O(log n) times; a segment of `sealBytes` or more is sealed and never rewritten.
 * Runs of `directSealBytes` or more are sealed as they are, encoded once.
 */
import { decodeSegment, encodeSegment, segmentLines, type PreparedText, type SegmentLine } from '../../segment/codec.js';
import { chunkLines } from '../append-plan.js';
import type { SqliteSegments, StoredSegment } from './sqlite-segments.js';

export interface SegmentPolicy {
  /** A segment this large (raw text bytes) is sealed: final, never merged again. */
  sealBytes: number;
  /** A run this large is written sealed at once, without merging. */
  directSealBytes: number;
  /** A segment whose oldest line arrived this long before a new run (ns) is sealed rather than grown, so retention stays close to its bound. */
  maxArrivalSpan: bigint;
}

/** Runs whose prepared text was used (its bloom is the segment's): tests and diagnostics. */
export const preparedRuns = { used: 0 };

export const DEFAULT_POLICY: SegmentPolicy = {
  sealBytes: 1 << 20,
  directSealBytes: 128 << 10,
  maxArrivalSpan: 3_600_000_000_000n,
};

export interface RunFile {
  host: string;
  fileId: string;
  filename: string;
  path: string;
}

/**
 * Writes accepted lines (ascending offsets, fresh seqs) of one file; returns their raw text
 * bytes. Call inside the append's transaction. `prepared`: texts made ahead for this file's
 * runs, by first offset (encode-pool.ts); a run they do not fit is encoded whole here.
 */
export function writeRun(segments: SqliteSegments, file: RunFile, lines: SegmentLine[], receivedAt: bigint, policy: SegmentPolicy, prepared?: ReadonlyMap<number, PreparedText>): number {
  let written = 0;
  for (const chunk of chunkLines(lines, policy.sealBytes)) written += writeChunk(segments, file, chunk, receivedAt, policy, prepared?.get(chunk[0]!.offset));
  return written;
}

function writeChunk(segments: SqliteSegments, file: RunFile, lines: SegmentLine[], receivedAt: bigint, policy: SegmentPolicy, prepared: PreparedText | undefined): number {
  const open: StoredSegment[] = [];
  for (const segment of segments.unsealed(file.host, file.fileId)) {
    const sameGroup = segment.filename === file.filename && segment.path === file.path;
    if (sameGroup && receivedAt - segment.minArrival <= policy.maxArrivalSpan) open.push(segment);
    else segments.seal(segment.id); // renamed, moved or too old to grow: final as it is
  }
  const encoded = encodeSegment(lines, prepared);
  if (prepared !== undefined && encoded.bloom === prepared.bloom) preparedRuns.used++;
  const arrival = { minArrival: receivedAt, maxArrival: receivedAt };
  if (encoded.rawBytes >= policy.directSealBytes || open.length === 0) {
    // Only trailing segments may grow: a sealed newcomer ends the run of every open one before it.
    for (const segment of open) segments.seal(segment.id);
    segments.insert(encoded, file, arrival, encoded.rawBytes >= policy.sealBytes || encoded.rawBytes >= policy.directSealBytes);
    return encoded.rawBytes;
  }
  const absorbed: StoredSegment[] = [];
  let gathered = encoded.rawBytes;
  for (let i = open.length - 1; i >= 0; i--) {
    const previous = open[i]!;
    if (previous.rawBytes > gathered || gathered + previous.rawBytes > 2 * policy.sealBytes) break;
    absorbed.unshift(previous);
    gathered += previous.rawBytes;
  }
  if (absorbed.length === 0) {
    segments.insert(encoded, file, arrival, false);
    return encoded.rawBytes;
  }
  const merged: SegmentLine[] = [];
  let minArrival = receivedAt;
  for (const previous of absorbed) {
    merged.push(...segmentLines(decodeSegment(segments.dataNow(previous.id))));
    if (previous.minArrival < minArrival) minArrival = previous.minArrival;
    segments.remove(previous.id);
  }
  merged.push(...lines);
  const mergedEncoded = encodeSegment(merged);
  segments.insert(mergedEncoded, file, { minArrival, maxArrival: receivedAt }, mergedEncoded.rawBytes >= policy.sealBytes);
  return encoded.rawBytes;
}
