/**
 * The one storage interface behind Daniel. Every implementation (memory: the reference;
 * sqlite: the embedded default; dynamodb: for deployments that outgrow one machine)
 * passes the same contract suite, `store.case.ts`.
 *
 * Times are nanoseconds since the Unix epoch as bigint; offsets are byte offsets as number.
 */

/** One file's lines in an append: validated by the server, ascending offsets. */
export interface AppendFile {
  fileId: string;
  filename: string;
  path: string;
  /** Agent-reported file size, if any (for lag). */
  size?: number;
  lines: AppendLine[];
}

export interface AppendLine {
  offset: number;
  /** Offset just after the line (newline included); always set by the server. */
  end: number;
  timestamp: bigint;
  line: string;
  cut: boolean;
}

export interface AppendRequest {
  host: string;
  files: AppendFile[];
  /** Arrival time (ns); retention counts from it. */
  receivedAt: bigint;
}

export interface AppendResult {
  accepted: number;
  duplicates: number;
}

/** A line as stored and returned by queries. */
export interface StoredLine {
  host: string;
  fileId: string;
  filename: string;
  path: string;
  offset: number;
  end: number;
  timestamp: bigint;
  line: string;
  cut: boolean;
  /** Ingest sequence: strictly increasing in the order lines became durable; stable forever. */
  seq: number;
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

/** What a line must contain. Several conditions in one query all apply (AND). */
export type Matcher =
  | { kind: 'substring'; text: string; caseInsensitive: boolean }
  | { kind: 'regex'; pattern: string; caseInsensitive: boolean };

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
 * Order: by timestamp, ties by offset, then host, then file id (desc reverses all of it).
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

export interface StoreStats {
  lines: number;
  /** Raw text bytes stored. */
  rawBytes: number;
  /** Bytes the store occupies (file size for sqlite; estimated for others). */
  storedBytes: number;
  segments: number;
}

export interface RetentionResult {
  deletedLines: number;
}

export interface Store {
  readonly kind: 'memory' | 'sqlite' | 'dynamodb';
  /** Stores the lines not yet stored; resolves only once they are durable. Idempotent per (host, fileId, offset). */
  append(request: AppendRequest): Promise<AppendResult>;
  hosts(): Promise<HostSummary[]>;
  /** Null when the host is unknown. */
  files(host: string): Promise<FileSummary[] | null>;
  search(query: SearchQuery): Promise<SearchPage>;
  /** Null when no line starts at that offset of that file identity. */
  context(query: ContextQuery): Promise<ContextResult | null>;
  histogram(query: HistogramQuery): Promise<HistogramResult>;
  tail(query: TailQuery): Promise<TailPage>;
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

/** Thrown by stores when a cursor is malformed or belongs to another query. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
}

/** Thrown by stores when the backing service cannot be reached (maps to 503). */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
}

/** Thrown when the store's files are damaged or gone (maps to 500: retrying does not help); the message names the file and what to do. */
export class StoreDamagedError extends Error {
  readonly code = 'STORE_DAMAGED';
}

/** Thrown when a regex cannot be run in linear time or does not compile (maps to 400). */
export class InvalidPatternError extends Error {
  readonly code = 'INVALID_REGEX';
}
