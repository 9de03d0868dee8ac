/**
 * The wire format of `POST /ingest`: what Henrik sends and Daniel stores.
 * One request carries lines of one host's files, grouped by file identity,
 * each group in ascending offset order.
 */

/** One line (or one marked piece of a long line) as read from a file. */
export interface IngestLine {
  /** Byte offset of the line's first byte in the file (per file identity). */
  offset: number;
  /**
   * Byte offset just after the line, its `\r\n`/`\n` included. Optional: Daniel derives
   * `offset + utf8Length(line) + 1` when absent. Henrik sends it whenever it differs from
   * that: invalid UTF-8, a dropped `\r` or a cut long line make the text length differ from
   * the bytes read.
   */
  end?: number;
  /** Event time, nanoseconds since the Unix epoch, as a decimal string. */
  timestamp: string;
  /** The text without its line ending. */
  line: string;
  /** True for a piece of a line longer than the agent's limit; the next record continues it. */
  cut?: boolean;
  /**
   * Fields the source knows for this line (journald's unit, a container's stream): string
   * values, merged over those Daniel extracts from the text, and over the group's `labels`.
   */
  fields?: Record<string, string>;
}

/** The lines of one file identity. */
export interface IngestFile {
  /** Opaque identity chosen by the agent (device + inode + fingerprint); 1..255 bytes. */
  file_id: string;
  /** Path relative to the directory its pattern starts from: `syslog`, `nginx/access.log`. */
  filename: string;
  /** Absolute path on the host. */
  path?: string;
  /** The file's size as the agent last saw it: Daniel reports lag as size minus stored end. */
  size?: number;
  /** Labels of the source (Henrik's per-source `labels`): fields of every line of the group. */
  labels?: Record<string, string>;
  /** Lines in ascending offset order; may be empty (a size report only). */
  lines: IngestLine[];
}

/**
 * File groups one request may carry (`files`): past it Daniel refuses the request whole with
 * 400 TOO_MANY_FILES. Henrik cuts its batches before it.
 */
export const MAX_INGEST_FILES = 1000;

export interface IngestRequest {
  host: string;
  files: IngestFile[];
}

/**
 * A part of an otherwise stored request that Daniel refused: one file group (no `offset`) or
 * one line of it (`offset` set). Everything not named here was stored or was a duplicate, so
 * the agent acknowledges the whole request and keeps only the named part aside.
 */
export interface IngestRejection {
  /** The group's index in the request's `files`. */
  file: number;
  file_id: string;
  /** The refused line's offset; absent when the whole group was refused. */
  offset?: number;
  /** An error code of the catalogue, e.g. `INVALID_NAME`, `INVALID_BODY`. */
  code: string;
  message: string;
}

export interface IngestResult {
  /** Lines stored by this request. */
  accepted: number;
  /** Lines already stored earlier (offset below the stored end): acknowledged, not stored again. */
  duplicates: number;
  /** What was refused while the rest was stored; absent or empty when nothing was. */
  rejected?: IngestRejection[];
}

export interface IngestResponse {
  data: IngestResult;
}
