/**
 * The one catalogue of error codes a user can meet over HTTP. Every answer that is not a
 * success has the shape `{"error": {"code", "message"}}` with the status listed here.
 * docs/api.md lists the same codes; a test keeps the two in step.
 */
export const errorCatalogue = {
  INVALID_PARAMETER: { status: 400, meaning: 'A query parameter is missing, malformed or out of range; the message names it.' },
  INVALID_BODY: { status: 400, meaning: 'The request body is not valid JSON or does not match the schema; the message names the field.' },
  INVALID_NAME: { status: 400, meaning: "A host or file name is empty, over 255 bytes, or holds '..', NUL or control characters." },
  INVALID_CURSOR: { status: 400, meaning: 'The cursor is malformed or belongs to another query; start again without it.' },
  INVALID_QUERY: { status: 400, meaning: 'The q query is malformed or past its limits; the message names what and the position (0-based).' },
  TOO_MANY_FILES: { status: 400, meaning: 'An ingest request carries more than 1,000 file groups: send them in several requests.' },
  INVALID_REGEX: { status: 400, meaning: 'The regex does not compile or cannot be run in linear time (no backreferences or lookaround).' },
  UNAUTHORIZED: { status: 401, meaning: 'No token, or an unknown one: send Authorization: Bearer TOKEN.' },
  FORBIDDEN: { status: 403, meaning: "The token is valid but lacks the scope this route needs (read, ingest; admin has both)." },
  HOST_NOT_ALLOWED: { status: 403, meaning: 'The token is bound to hosts and this host (or a route covering every host) is not one of them.' },
  NOT_FOUND: { status: 404, meaning: 'No such route.' },
  HOST_NOT_FOUND: { status: 404, meaning: 'No lines were ever received from that host.' },
  LINE_NOT_FOUND: { status: 404, meaning: 'No line starts at that offset of that file.' },
  TOKEN_NOT_FOUND: { status: 404, meaning: 'No managed token has that id.' },
  ALERT_NOT_FOUND: { status: 404, meaning: 'No alert rule has that id.' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'The route exists but not for this method.' },
  TOO_MANY_ALERTS: { status: 409, meaning: 'Daniel keeps at most 10,000 alert rules; delete some first.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body, or its decompressed size, passes the limit (8 MiB by default).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'Send application/json, optionally with Content-Encoding: gzip or br (the pushed inputs also take protobuf, NDJSON, deflate and snappy).' },
  HOST_FILE_LIMIT: {
    status: 429,
    meaning: "The host has already written the most distinct file identities allowed in one UTC day (--max-files-per-host-day, 10,000 by default). Met in an ingest answer's `rejected`: the groups of further identities are refused, the rest of the request is stored.",
  },
  RATE_LIMITED: { status: 429, meaning: 'Too many requests or too many live tails; retry after the Retry-After seconds.' },
  INTERNAL: { status: 500, meaning: 'A bug, or a store fault that retrying will not fix: the server logged it with the request id.' },
  STORE_DAMAGED: { status: 500, meaning: "The store's files are damaged, or were deleted or replaced while Daniel ran; the message names the file and what to do. Retrying does not help." },
  STORE_UNAVAILABLE: { status: 503, meaning: 'The store cannot be reached right now; retry after the Retry-After seconds.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error meant for the user: a code from the catalogue and a sentence that says what to do. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code].status;
  }
}

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}
