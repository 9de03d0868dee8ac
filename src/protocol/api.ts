/**
 * Shapes of the REST API's answers, shared by the server, the CLI and the web UI.
 * docs/api.md describes every endpoint; the OpenAPI description is generated from
 * the route schemas and must agree with these types.
 */

export interface ApiError {
  error: { code: string; message: string };
}

export interface HostEntry {
  host: string;
  url: string;
  /** When Daniel last received anything from the host (RFC 3339), null if never. */
  last_seen: string | null;
  lines: number;
  bytes: number;
}

export interface FileEntry {
  filename: string;
  host: string;
  url: string;
  path: string;
  last_seen: string | null;
  lines: number;
  bytes: number;
  /** Bytes of the newest file identity stored (its stored end offset). */
  offset: number;
  /** The file's size as the agent last reported it; null if never reported. */
  size: number | null;
  /** size - offset, never negative; null when size is unknown. */
  lag_bytes: number | null;
}

export interface LogEntry {
  filename: string;
  /** The line's event time in epoch seconds, as a string (the original API's field). */
  last_modified: string;
  logline: string;
  host: string;
  /** The same time in RFC 3339 with nanoseconds, UTC. */
  timestamp: string;
  path: string;
  offset: number;
  file_id: string;
  /** The line's ingest sequence number: strictly increasing in the order lines became durable; a live tail resumes after it. */
  seq: number;
  /** The line's fields (JSON members, key=value pairs, a normalised level), when it has any. */
  fields?: Record<string, string>;
  /** Present and true for a piece of a line that was longer than the agent's limit. */
  cut?: boolean;
  /** Opaque position of this line: `cursor=` resumes after it; the SSE event id of live tail. */
  cursor: string;
}

export interface LogsResponse {
  data: LogEntry[];
  /** URL of the next page; present whenever the results were cut (count reached or time budget). */
  next?: string;
  /** True when the time budget ran out before the page was full. */
  partial?: boolean;
}

export interface ContextResponse {
  data: {
    before: LogEntry[];
    line: LogEntry;
    after: LogEntry[];
  };
}

export interface HistogramBucket {
  /** Bucket start, RFC 3339. */
  start: string;
  /** Bucket start in epoch milliseconds. */
  start_ms: number;
  count: number;
  /** With `by=FIELD`: lines per value of the field, for its top values over the whole range. */
  by?: Record<string, number>;
  /** With `by=FIELD`: lines whose value is not among those. */
  by_other?: number;
}

export interface HistogramResponse {
  data: {
    bucket_ms: number;
    buckets: HistogramBucket[];
  };
  partial?: boolean;
}

/** An alert rule as `/alerts` returns it (docs/alerts.md): its definition, then its state. */
export interface AlertRuleEntry {
  id: string;
  name: string;
  q: string;
  host: string[];
  condition: { kind: 'count'; window: string; threshold: number } | { kind: 'absent'; for: string };
  group_by: string[];
  notify: Record<string, string>[];
  labels: Record<string, string>;
  repeat: string;
  muted_until: string | null;
  created: string;
  updated: string;
  state: 'ok' | 'firing';
  /** One per value of group_by (one group when the rule has none). */
  groups: { group: Record<string, string>; state: 'ok' | 'firing'; since: string | null; count: number }[];
  last_fired: string | null;
  last_delivery: { at: string; target: string } | null;
  last_delivery_error: { at: string; message: string } | null;
  pending_deliveries: number;
}
