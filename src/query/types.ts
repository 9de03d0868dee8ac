/**
 * What the query engine answers and what it is asked: the lines it returns, the filters,
 * the pages, and the errors a query can raise. Stores implement `Store` (src/storage/store.ts)
 * in these terms; the engine itself knows nothing of stores.
 *
 * Times are nanoseconds since the Unix epoch as bigint; offsets are byte offsets as number.
 */
import type { SegmentLine } from '../segment/codec.js';
import type { QueryNode } from './language.js';

/** A line as stored and returned by queries. */
export interface StoredLine extends SegmentLine {
  host: string;
  fileId: string;
  filename: string;
  path: string;
}

/** What a line must contain. Several conditions in one query all apply (AND). */
export type Matcher =
  | { kind: 'substring'; text: string; caseInsensitive: boolean }
  | { kind: 'regex'; pattern: string; caseInsensitive: boolean }
  /** A parsed `q` (language.ts), without host: and file: terms (those are in the filter). */
  | { kind: 'query'; node: QueryNode; caseSensitive: boolean };

/** Which lines: the filters shared by search, histogram and tail. */
export interface LineFilter {
  /** Undefined or empty: every host. */
  hosts?: string[];
  /** Filenames; undefined or empty: every file. */
  files?: string[];
  /** Inclusive lower bound on timestamp (ns). */
  since?: bigint;
  /** Exclusive upper bound on timestamp (ns). */
  until?: bigint;
  match?: Matcher[];
}

export interface SearchQuery extends LineFilter {
  order: 'desc' | 'asc';
  /** Page size, 1..10000. */
  limit: number;
  /** Continue strictly after this position (a `cursor` from an earlier page, same filter and order). */
  cursor?: string;
  /** `performance.now()` value after which the scan stops and returns what it has, with a cursor. */
  deadline?: number;
  /** Aborts the search (its client went away): it rejects with ReadAborted at its next turn. */
  signal?: AbortSignal;
}

/**
 * Order: by timestamp, ties by offset, then seq (order.ts; desc reverses all of it).
 * A cursor also pins the snapshot of the first page (the highest seq then), so paging never
 * repeats or skips a line while ingest goes on: lines that arrive later are not in that paging.
 */
export interface SearchPage {
  lines: StoredLine[];
  /** Set when more lines may follow (limit reached or deadline passed). */
  nextCursor?: string;
  /** True when the deadline cut the scan short. */
  partial: boolean;
}

/** Lines around one line of one file identity, by file order (offset). */
export interface ContextQuery {
  host: string;
  fileId: string;
  offset: number;
  before: number;
  after: number;
}

export interface ContextResult {
  before: StoredLine[];
  line: StoredLine;
  after: StoredLine[];
}

export interface HistogramQuery extends LineFilter {
  /** Bucket width in milliseconds. */
  bucketMs: number;
  deadline?: number;
  /** Aborts the count (its client went away). */
  signal?: AbortSignal;
}

export interface HistogramResult {
  /** Buckets with at least one line, ascending; start in epoch ms (aligned to bucketMs). */
  buckets: { startMs: number; count: number }[];
  partial: boolean;
}

/** Lines that became durable after `afterSeq`, in seq order, matching the filter (live tail). */
export interface TailQuery extends LineFilter {
  afterSeq: number;
  limit: number;
  /** Aborts the read (the live tail ended). */
  signal?: AbortSignal;
}

export interface TailPage {
  lines: StoredLine[];
  /** The seq to resume after: the highest seq examined (matching or not). */
  lastSeq: number;
}

/** Thrown when a cursor is malformed or belongs to another query. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
}

/** Thrown when a regex cannot be run in linear time or does not compile (maps to 400). */
export class InvalidPatternError extends Error {
  readonly code = 'INVALID_REGEX';
}
