/**
 * Where every input that Daniel receives (syslog, Loki push, OTLP, Elasticsearch bulk) hands
 * its entries: the one seam between the receivers of src/inputs/ and the store. A receiver
 * parses its protocol into PushedBatch values and calls PushSink.push; the server implements
 * the sink (src/server/push-sink.ts) on top of the same append path as /ingest, so a pushed
 * line is stored, counted, tailed and alerted on exactly like a shipped one.
 *
 * A pushed source has no file, so the sink gives each (host, filename) a file identity of its
 * own and numbers its entries: the offsets of a pushed source are entry counts, not bytes.
 */

/** One entry of a pushed source. */
export interface PushedEntry {
  /** Event time, nanoseconds since the Unix epoch (the receiver's time of arrival when the sender gave none). */
  timestamp: bigint;
  /** The text, without its line ending. Multi-line texts are kept whole. */
  line: string;
  /** Fields the protocol carries (labels, attributes, facility...), merged over those extracted from the text. */
  fields?: Record<string, string>;
  /**
   * The sender's own id for this entry (Elasticsearch `_id`), if any: an entry whose id the
   * same source already stored is acknowledged as a duplicate and not stored again.
   */
  id?: string;
}

/** Entries of one source of one host, in the order they were sent. */
export interface PushedBatch {
  /** Checked like /ingest's host (src/protocol/names.ts); a bad one refuses this batch alone. */
  host: string;
  /** The source's name in /hosts/{host}/files (an app, a service, an index). */
  filename: string;
  entries: PushedEntry[];
}

/** Who pushes: what the token allows. */
export interface PushAuth {
  /** The hosts an ingest token is bound to; undefined when it may write any host. */
  hosts?: ReadonlySet<string>;
}

export interface PushRejection {
  /** Index of the refused batch in the pushed array. */
  batch: number;
  /** Index of the refused entry in its batch; absent when the whole batch was refused. */
  entry?: number;
  /** An error code of src/common/errors.ts: INVALID_NAME, INVALID_BODY, HOST_NOT_ALLOWED... */
  code: string;
  message: string;
}

export interface PushResult {
  accepted: number;
  duplicates: number;
  /** Batches and entries refused while the rest was stored. */
  rejected: PushRejection[];
}

export interface PushSink {
  /**
   * Stores the batches; resolves once they are durable (as /ingest answers only then). Throws
   * the store's errors (STORE_UNAVAILABLE -> 503, STORE_DAMAGED -> 500) and AppError('RATE_LIMITED')
   * when the store falls behind, for the receiver to answer the way its protocol retries.
   */
  push(batches: readonly PushedBatch[], auth: PushAuth): Promise<PushResult>;
}
