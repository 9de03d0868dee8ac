/**
 * The TypeBox schema of `POST /ingest`, the one machine-readable definition of the wire format
 * (src/protocol/ingest.ts holds the same shapes as TypeScript types). Daniel validates with it
 * and generates its OpenAPI description from it; Henrik and the tests can check a body with it.
 */
import { Type, type Static } from 'typebox';
import { MAX_NAME_BYTES, TIMESTAMP_PATTERN } from './names.js';

export const IngestLineSchema = Type.Object({
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Byte offset of the line's first byte in the file" }),
  end: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: "Byte offset just after the line, newline included; default offset + UTF-8 length + 1; at most the next line's offset",
    }),
  ),
  timestamp: Type.String({
    pattern: TIMESTAMP_PATTERN,
    description: 'Event time in nanoseconds since the Unix epoch, a signed decimal string within 64 bits (-9223372036854775808 .. 9223372036854775807)',
  }),
  line: Type.String({ description: 'The text without its line ending' }),
  cut: Type.Optional(Type.Boolean({ description: 'True for a piece of a line longer than the agent limit' })),
  fields: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: "Fields the source knows for this line (string values); merged over the group's labels and over the fields extracted from the text. Past the field limits (docs/query.md) they are dropped, the line kept",
    }),
  ),
});

const fileFields = {
  file_id: Type.String({ description: `Opaque file identity chosen by the agent; 1..${MAX_NAME_BYTES} bytes` }),
  filename: Type.String({ description: `Path relative to the pattern root, e.g. syslog or nginx/access.log; 1..${MAX_NAME_BYTES} bytes` }),
  path: Type.Optional(Type.String({ description: 'Absolute path on the host' })),
  size: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'File size as the agent last saw it' })),
  labels: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "The source's labels (string values): fields of every line of the group" })),
};

export const IngestFileSchema = Type.Object({
  ...fileFields,
  lines: Type.Array(IngestLineSchema, { description: 'Strictly ascending offsets; may be empty (a size report)' }),
});

/** A file group with its lines unchecked: a bad line is refused alone, not with its group. */
export const IngestFileHeadSchema = Type.Object({ ...fileFields, lines: Type.Array(Type.Unknown()) });

const bodyDescription =
  "A batch of lines of one host's files. JSON, optionally Content-Encoding: gzip or br. A group or line that breaks this schema is refused alone (named in `rejected`); only a body that is not an object with a valid `host` and a `files` array is refused whole.";

export const IngestBodySchema = Type.Object(
  {
    host: Type.String({ description: `The agent's host name; 1..${MAX_NAME_BYTES} bytes, no '..', NUL or control characters` }),
    files: Type.Array(IngestFileSchema),
  },
  { description: bodyDescription },
);

/** What must hold for the request as a whole; each group is checked on its own afterwards. */
export const IngestEnvelopeSchema = Type.Object({ host: Type.String(), files: Type.Array(Type.Unknown()) });

export const IngestRejectionSchema = Type.Object({
  file: Type.Integer({ description: "The group's index in the request's files" }),
  file_id: Type.String({ description: "The group's file_id ('' when it was not a string)" }),
  offset: Type.Optional(Type.Integer({ description: "The refused line's offset; absent when the whole group was refused" })),
  code: Type.String({ description: 'INVALID_NAME or INVALID_BODY' }),
  message: Type.String({ description: 'What is wrong, naming the field' }),
});

export const IngestResponseSchema = Type.Object({
  data: Type.Object({
    accepted: Type.Integer({ description: 'Lines stored by this request' }),
    duplicates: Type.Integer({ description: 'Lines already stored earlier: acknowledged, not stored again' }),
    rejected: Type.Optional(
      Type.Array(IngestRejectionSchema, {
        description: 'Groups and lines refused while the rest was stored; absent when nothing was refused',
      }),
    ),
  }),
});

export type IngestBodyValue = Static<typeof IngestBodySchema>;
export type IngestEnvelopeValue = Static<typeof IngestEnvelopeSchema>;
