/**
 * TypeBox schemas of the HTTP API: they validate requests, serialize answers and generate
 * the OpenAPI description. They mirror src/protocol/api.ts; the ingest format's schema is
 * the protocol's own (src/protocol/ingest-schema.ts).
 */
import { Type } from 'typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'A code from the catalogue in docs/api.md, e.g. INVALID_PARAMETER' }),
      message: Type.String({ description: 'What went wrong, naming the parameter or field' }),
    }),
  },
  { description: 'Every failure has this shape' },
);

export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
};

const nullableString = Type.Union([Type.String(), Type.Null()]);
const nullableInteger = Type.Union([Type.Integer(), Type.Null()]);

export const HostEntry = Type.Object({
  host: Type.String(),
  url: Type.String(),
  last_seen: nullableString,
  lines: Type.Integer(),
  bytes: Type.Integer(),
});

export const FileEntry = Type.Object({
  filename: Type.String(),
  host: Type.String(),
  url: Type.String(),
  path: Type.String(),
  last_seen: nullableString,
  lines: Type.Integer(),
  bytes: Type.Integer(),
  offset: Type.Integer(),
  size: nullableInteger,
  lag_bytes: nullableInteger,
});

export const LogEntry = Type.Object({
  filename: Type.String(),
  last_modified: Type.String({ description: 'Event time in epoch seconds, as a string' }),
  logline: Type.String(),
  host: Type.String(),
  timestamp: Type.String({ description: 'Event time, RFC 3339 UTC with nanoseconds' }),
  path: Type.String(),
  offset: Type.Integer(),
  file_id: Type.String(),
  seq: Type.Integer({ description: 'Ingest sequence number: increasing in the order lines became durable; a live tail resumes after it' }),
  fields: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Fields of the line: JSON members (nested flattened with .), key=value pairs, a normalised level' })),
  cut: Type.Optional(Type.Boolean()),
  cursor: Type.String({ description: 'cursor= resumes after this line' }),
});

export const LogsResponse = Type.Object({
  data: Type.Array(LogEntry),
  next: Type.Optional(Type.String({ description: 'URL of the next page, present when the results were cut' })),
  partial: Type.Optional(Type.Boolean({ description: 'True when the time budget ran out before the page was full' })),
});

export const ContextResponse = Type.Object({
  data: Type.Object({ before: Type.Array(LogEntry), line: LogEntry, after: Type.Array(LogEntry) }),
});

export const HistogramResponse = Type.Object({
  data: Type.Object({
    bucket_ms: Type.Integer(),
    buckets: Type.Array(
      Type.Object({
        start: Type.String(),
        start_ms: Type.Integer(),
        count: Type.Integer(),
        by: Type.Optional(Type.Record(Type.String(), Type.Integer(), { description: 'With by=FIELD: lines per value, for the top values over the whole range' })),
        by_other: Type.Optional(Type.Integer({ description: 'With by=FIELD: lines whose value is not among the top values' })),
      }),
    ),
  }),
  partial: Type.Optional(Type.Boolean()),
});

const repeatable = (description: string) => Type.Optional(Type.Array(Type.String(), { description: `${description} (repeatable)` }));

/** The filters shared by /logs, /hosts/{host}/logs and /logs/histogram. */
export const filterQueryProperties = {
  q: Type.Optional(
    Type.String({
      maxLength: 8192,
      description:
        'A query (docs/query.md): words and "phrases" (case-insensitive unless case=sensitive), AND, OR, NOT or -, parentheses, field:value, field:prefix*, field:>=N, field:*, /regex/, field:/regex/',
    }),
  ),
  filter: repeatable('Substring the line must contain; several must all match'),
  regex: repeatable('Regular expression the line must match, run in linear time'),
  case: Type.Optional(Type.Union([Type.Literal('sensitive'), Type.Literal('insensitive')])),
  file: repeatable('Only these filenames'),
  since: Type.Optional(Type.String({ description: "RFC 3339, epoch digits, or relative ('15m', '2h', '7d' ago); inclusive" })),
  until: Type.Optional(Type.String({ description: 'Like since; exclusive' })),
  timeout: Type.Optional(Type.String({ description: "Time budget, a duration ('500ms', '5s'); default 5s, at most 30s" })),
};

export const logsQueryProperties = {
  ...filterQueryProperties,
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'At most N lines; default 100' })),
  order: Type.Optional(Type.Union([Type.Literal('desc'), Type.Literal('asc')])),
  cursor: Type.Optional(Type.String({ description: 'Continue after this position (from next, or an entry cursor)' })),
  follow: Type.Optional(Type.Boolean({ description: 'true: answer as Server-Sent Events with every new matching line' })),
};

export const hostsQueryProperty = { host: repeatable('Only these hosts') };
