/**
 * Loki's push API (`POST /loki/api/v1/push`) decoded into pushed batches: one batch per stream.
 *
 * Bodies: JSON (`{"streams":[{"stream":{labels},"values":[["<ns>","<line>",{metadata}]]}]}`)
 * when the Content-Type says JSON, else protobuf `logproto.PushRequest`, raw-snappy
 * compressed (the block format, as Loki's `util.RawSnappy`) unless Content-Encoding already
 * took it off. Each stream label and each structured-metadata pair becomes a field (metadata
 * wins); host is the label `host`, `hostname` or `instance`, filename the label `filename`,
 * `job` or `service_name` (else `loki`). A timestamp of 0 means the time of arrival.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { AppError } from '../../common/errors.js';
import { fallbackHost, firstOf, normalLevel } from '../http-common.js';
import type { PushAuth, PushedBatch, PushedEntry } from '../sink.js';

export const HOST_LABELS = ['host', 'hostname', 'instance'] as const;
export const FILENAME_LABELS = ['filename', 'job', 'service_name'] as const;
export const DEFAULT_FILENAME = 'loki';

/** Loki's push.proto (grafana/loki pkg/push/push.proto) with google.protobuf.Timestamp, as a protobufjs descriptor. */
const root = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: {
          fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 }, format: { type: 'string', id: 2 } },
        },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
            parsed: { rule: 'repeated', type: 'LabelPairAdapter', id: 4 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});
export const PushRequestType = root.lookupType('logproto.PushRequest');

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

interface ProtoLabelPair {
  name?: string;
  value?: string;
}
interface ProtoEntry {
  timestamp?: { seconds?: number | LongLike; nanos?: number } | null;
  line?: string;
  structuredMetadata?: ProtoLabelPair[];
}
interface ProtoStream {
  labels?: string;
  entries?: ProtoEntry[];
}

/** A protobuf int64 (Long or number) as bigint. */
export function longToBigInt(value: number | LongLike | undefined | null, unsigned = false): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  const low = BigInt(value.low >>> 0);
  const high = BigInt(value.high >>> 0);
  const raw = (high << 32n) | low;
  return unsigned || value.unsigned === true ? raw : BigInt.asIntN(64, raw);
}

/** Parses a Prometheus-style label set, `{job="x", host="y"}`, into a map. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  const fail = (what: string): never => {
    throw new AppError('INVALID_BODY', `Stream labels ${JSON.stringify(text.slice(0, 200))}: ${what} at position ${i}`);
  };
  const space = (): void => {
    while (i < n && /\s/.test(text[i] as string)) i++;
  };
  space();
  if (text[i] !== '{') fail("expected '{'");
  i++;
  space();
  while (i < n && text[i] !== '}') {
    const start = i;
    while (i < n && /[A-Za-z0-9_.:-]/.test(text[i] as string)) i++;
    const name = text.slice(start, i);
    if (name === '') fail('expected a label name');
    space();
    if (text[i] !== '=') fail("expected '='");
    i++;
    space();
    if (text[i] !== '"') fail('expected a quoted value');
    i++;
    let value = '';
    while (i < n && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < n) {
        const next = text[i + 1] as string;
        value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        i += 2;
      } else {
        value += text[i];
        i++;
      }
    }
    if (i >= n) fail('unterminated value');
    i++;
    labels[name] = value;
    space();
    if (text[i] === ',') {
      i++;
      space();
    }
  }
  if (text[i] !== '}') fail("expected '}'");
  return labels;
}

function streamBatch(labels: Record<string, string>, entries: PushedEntry[], auth: PushAuth): PushedBatch {
  return {
    host: firstOf(labels, HOST_LABELS) ?? fallbackHost(auth),
    filename: firstOf(labels, FILENAME_LABELS) ?? DEFAULT_FILENAME,
    entries,
  };
}

/** Labels and then metadata; a `level` is normalised (`warning` -> `warn`) when it is a known word. */
function withMetadata(labels: Record<string, string>, metadata: Record<string, string> | undefined): Record<string, string> {
  const fields = metadata === undefined ? { ...labels } : { ...labels, ...metadata };
  const level = normalLevel(fields.level);
  if (level !== undefined) fields.level = level;
  return fields;
}

/** Takes the raw-snappy block format off, refusing a body that says it decompresses past `limit`. */
export function unsnappy(body: Uint8Array, limit: number): Uint8Array {
  try {
    return snappy.uncompress(body, limit);
  } catch (error) {
    const message = (error as Error).message;
    if (/too big/.test(message)) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The request body decompressed passes the limit of ${limit} bytes: send smaller batches`);
    }
    throw new AppError('INVALID_BODY', `The body is not valid snappy (block format): ${message}`);
  }
}

/** Decodes a protobuf PushRequest (already without compression). */
export function decodeLokiProtobuf(bytes: Uint8Array, auth: PushAuth, now: bigint): PushedBatch[] {
  let request: { streams?: ProtoStream[] };
  try {
    request = PushRequestType.decode(bytes) as unknown as { streams?: ProtoStream[] };
  } catch (error) {
    throw new AppError('INVALID_BODY', `The body is not a Loki PushRequest (protobuf): ${(error as Error).message}`);
  }
  const batches: PushedBatch[] = [];
  for (const stream of request.streams ?? []) {
    const labels = parseLabels(stream.labels ?? '{}');
    // The fields of an entry without metadata: the stream's, one map for all of them (the sink only reads it).
    const streamFields = withMetadata(labels, undefined);
    const entries: PushedEntry[] = [];
    for (const entry of stream.entries ?? []) {
      const ts = entry.timestamp;
      let timestamp = ts ? longToBigInt(ts.seconds) * 1_000_000_000n + BigInt(ts.nanos ?? 0) : 0n;
      if (timestamp === 0n) timestamp = now;
      let metadata: Record<string, string> | undefined;
      if (entry.structuredMetadata !== undefined && entry.structuredMetadata.length > 0) {
        metadata = {};
        for (const pair of entry.structuredMetadata) if (pair.name) metadata[pair.name] = pair.value ?? '';
      }
      entries.push({ timestamp, line: entry.line ?? '', fields: metadata === undefined ? streamFields : withMetadata(labels, metadata) });
    }
    if (entries.length > 0) batches.push(streamBatch(labels, entries, auth));
  }
  return batches;
}

function jsonTimestamp(value: unknown, where: string, now: bigint): bigint {
  // Loki wants a string; a number is taken as well when it is a whole one.
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : undefined;
  if (text === undefined || !/^\d{1,19}$/.test(text)) {
    throw new AppError('INVALID_BODY', `Body field ${where} must be a string of nanoseconds since the epoch`);
  }
  const ns = BigInt(text);
  return ns === 0n ? now : ns;
}

/** Decodes Loki's JSON push body (already parsed). */
export function decodeLokiJson(body: unknown, auth: PushAuth, now: bigint): PushedBatch[] {
  const streams = (body as { streams?: unknown } | null)?.streams;
  if (typeof body !== 'object' || body === null || !Array.isArray(streams)) {
    throw new AppError('INVALID_BODY', 'Body field streams is required: send {"streams":[{"stream":{…},"values":[["<ns>","<line>"]]}]}');
  }
  const batches: PushedBatch[] = [];
  for (const [s, stream] of streams.entries()) {
    const labelsIn = (stream as { stream?: unknown } | null)?.stream ?? {};
    const values = (stream as { values?: unknown } | null)?.values;
    if (typeof labelsIn !== 'object' || labelsIn === null || Array.isArray(labelsIn)) {
      throw new AppError('INVALID_BODY', `Body field streams[${s}].stream must be an object of labels`);
    }
    if (!Array.isArray(values)) throw new AppError('INVALID_BODY', `Body field streams[${s}].values must be an array`);
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries(labelsIn as Record<string, unknown>)) {
      if (typeof value !== 'string') throw new AppError('INVALID_BODY', `Body field streams[${s}].stream.${name} must be a string`);
      labels[name] = value;
    }
    // The fields of an entry without metadata: the stream's, one map for all of them (the sink only reads it).
    const streamFields = withMetadata(labels, undefined);
    const entries: PushedEntry[] = [];
    for (const [v, item] of values.entries()) {
      const where = `streams[${s}].values[${v}]`;
      if (!Array.isArray(item) || item.length < 2 || item.length > 3) {
        throw new AppError('INVALID_BODY', `Body field ${where} must be ["<ns>", "<line>"] or ["<ns>", "<line>", {metadata}]`);
      }
      const timestamp = jsonTimestamp(item[0], `${where}[0]`, now);
      if (typeof item[1] !== 'string') throw new AppError('INVALID_BODY', `Body field ${where}[1] must be a string`);
      let metadata: Record<string, string> | undefined;
      const meta = item[2] as unknown;
      if (meta !== undefined && meta !== null) {
        if (typeof meta !== 'object' || Array.isArray(meta)) throw new AppError('INVALID_BODY', `Body field ${where}[2] must be an object of strings`);
        metadata = {};
        for (const [name, value] of Object.entries(meta as Record<string, unknown>)) {
          if (typeof value === 'string') metadata[name] = value;
          else if (value !== null && value !== undefined) metadata[name] = JSON.stringify(value);
        }
      }
      entries.push({ timestamp, line: item[1], fields: metadata === undefined ? streamFields : withMetadata(labels, metadata) });
    }
    if (entries.length > 0) batches.push(streamBatch(labels, entries, auth));
  }
  return batches;
}
