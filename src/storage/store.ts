/**
 * The one storage interface behind Daniel. Every implementation (memory: the reference;
 * sqlite: the embedded default; dynamodb: for deployments that outgrow one machine)
 * passes the same contract suite, `store.case.ts`.
 *
 * Times are nanoseconds since the Unix epoch as bigint; offsets are byte offsets as number.
 */
import type { SegmentLine } from '../segment/codec.js';
import type { FieldCountsQuery, FieldCountsResult } from '../query/segment-field-counts.js';
import type { ContextQuery, ContextResult, HistogramQuery, HistogramResult, SearchPage, SearchQuery, TailPage, TailQuery } from '../query/types.js';

// The query types are the query engine's (src/query/types.ts); re-exported for the stores and the server.
export type { ContextQuery, ContextResult, HistogramQuery, HistogramResult, LineFilter, Matcher, SearchPage, SearchQuery, StoredLine, TailPage, TailQuery } from '../query/types.js';
export type { FieldCountsQuery, FieldCountsResult } from '../query/segment-field-counts.js';
export { InvalidCursorError, InvalidPatternError } from '../query/types.js';

/** One file's lines in an append: validated by the server, ascending offsets. */
export interface AppendFile {
  fileId: string;
  filename: string;
  path: string;
  /** Agent-reported file size, if any (for lag). */
  size?: number;
  lines: AppendLine[];
}

/**
 * A line to append: a segment's line before the store gives it its seq (offset, end with the
 * newline, timestamp, text, cut, and the fields the source gave, bounded by the server).
 */
export type AppendLine = Omit<SegmentLine, 'seq'>;

export interface AppendRequest {
  host: string;
  files: AppendFile[];
  /** Arrival time (ns); retention counts from it. */
  receivedAt: bigint;
}

export interface AppendResult {
  accepted: number;
  duplicates: number;
  /**
   * Optional: the lines this append stored, numbered with their seqs, one run per file (a
   * store that reports them lets the in-process alert evaluator skip reading them back).
   */
  stored?: StoredRun[];
}

/** Lines of one file stored by one append, in seq order. */
export interface StoredRun {
  host: string;
  fileId: string;
  filename: string;
  path: string;
  lines: readonly SegmentLine[];
}

export interface HostSummary {
  host: string;
  /** Arrival time of the newest append from this host (ns). */
  lastSeen: bigint;
  lines: number;
  /** Bytes of line text stored (UTF-8). */
  bytes: number;
}

export interface FileSummary {
  host: string;
  filename: string;
  /** Path of the newest identity. */
  path: string;
  lastSeen: bigint;
  lines: number;
  bytes: number;
  /** Stored end offset of the newest identity of this filename. */
  offset: number;
  /** Newest agent-reported size of that identity, if any. */
  size: number | null;
  /** All file identities seen under this filename, newest first. */
  fileIds: string[];
}

export interface StoreStats {
  lines: number;
  /** Raw text bytes stored. */
  rawBytes: number;
  /** Bytes the store occupies (file size for sqlite; estimated for others). */
  storedBytes: number;
  segments: number;
  /** Segments whose field statistics are not computed yet (sqlite store; absent elsewhere). */
  segmentsWithoutFieldStats?: number;
  /** Sealed segments not compressed again yet (sqlite store; absent elsewhere). */
  segmentsToRepack?: number;
  /** What the repacker did since start: segments whose blob it replaced, their bytes before and after. */
  repack?: { segments: number; bytesBefore: number; bytesAfter: number };
}

export interface RetentionResult {
  deletedLines: number;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'dynamodb';
  /** Stores the lines not yet stored; resolves only once they are durable. Idempotent per (host, fileId, offset). */
  append(request: AppendRequest): Promise<AppendResult>;
  /**
   * Optional, before `append(request)`: work on the request that can be done off the main
   * thread ahead of the append (the sqlite store prepares its segments' text). Never fails;
   * skipping it changes nothing but speed.
   */
  prepareAppend?(request: AppendRequest): Promise<void>;
  hosts(): Promise<HostSummary[]>;
  /** Null when the host is unknown. */
  files(host: string): Promise<FileSummary[] | null>;
  search(query: SearchQuery): Promise<SearchPage>;
  /** Null when no line starts at that offset of that file identity. */
  context(query: ContextQuery): Promise<ContextResult | null>;
  histogram(query: HistogramQuery): Promise<HistogramResult>;
  tail(query: TailQuery): Promise<TailPage>;
  /**
   * Optional: field names or one field's values counted over every matching line (the field
   * explorer), undefined when that would read more than `maxScanLines` lines one by one (the
   * caller then reads a sample). Segment stores answer from per-segment field statistics.
   */
  fieldCounts?(query: FieldCountsQuery): Promise<FieldCountsResult | undefined>;
  /** The highest seq durable now (0 when empty). */
  lastSeq(): Promise<number>;
  /**
   * Optional: where a new live tail starts (its first `afterSeq`), when that is not lastSeq():
   * for a store whose seqs can become durable out of seq order (dynamodb with several writers),
   * a position below every seq that may still become durable.
   */
  tailStart?(): Promise<number>;
  /** Deletes lines that arrived before `arrivedBefore` (whole segments at a time). */
  deleteArrivedBefore(arrivedBefore: bigint): Promise<RetentionResult>;
  stats(): Promise<StoreStats>;
  /** Throws when the store cannot answer (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown by stores when the backing service cannot be reached (maps to 503). */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
}

/** Thrown when the store's files are damaged or gone (maps to 500: retrying does not help); the message names the file and what to do. */
export class StoreDamagedError extends Error {
  readonly code = 'STORE_DAMAGED';
}
