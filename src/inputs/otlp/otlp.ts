/**
 * OTLP/HTTP logs (`POST /v1/logs`) decoded into pushed batches, one per ResourceLogs.
 *
 * Bodies: protobuf `ExportLogsServiceRequest` or its JSON mapping (lowerCamelCase keys, trace
 * and span ids in hex, 64-bit integers as strings or numbers, enums as integers or names).
 * Resource attributes and then log attributes become fields (nested maps flattened with `.`),
 * the severity the `level`, and `trace_id`, `span_id` (hex) and `event_name` are kept; host
 * is the resource's `host.name`, filename its `service.name` (else `otlp`). The line is a
 * string body as is, any other body as JSON. Time is `time_unix_nano`, else
 * `observed_time_unix_nano`, else the time of arrival.
 */
import protobuf from 'protobufjs';
import { AppError } from '../../common/errors.js';
import { fallbackHost, normalLevel } from '../http-common.js';
import { longToBigInt } from '../loki/loki.js';
import type { PushAuth, PushedBatch, PushedEntry } from '../sink.js';

export const DEFAULT_FILENAME = 'otlp';

const anyValue = {
  oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
  fields: {
    stringValue: { type: 'string', id: 1 },
    boolValue: { type: 'bool', id: 2 },
    intValue: { type: 'int64', id: 3 },
    doubleValue: { type: 'double', id: 4 },
    arrayValue: { type: 'ArrayValue', id: 5 },
    kvlistValue: { type: 'KeyValueList', id: 6 },
    bytesValue: { type: 'bytes', id: 7 },
  },
};

/** The logs part of opentelemetry-proto (collector/logs/v1, logs/v1, common/v1, resource/v1) as a protobufjs descriptor. */
const root = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportLogsServiceRequest: { fields: { resourceLogs: { rule: 'repeated', type: 'ResourceLogs', id: 1 } } },
        ExportLogsServiceResponse: { fields: { partialSuccess: { type: 'ExportLogsPartialSuccess', id: 1 } } },
        ExportLogsPartialSuccess: { fields: { rejectedLogRecords: { type: 'int64', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
        ResourceLogs: {
          fields: {
            resource: { type: 'Resource', id: 1 },
            scopeLogs: { rule: 'repeated', type: 'ScopeLogs', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          },
        },
        Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 }, droppedAttributesCount: { type: 'uint32', id: 2 } } },
        ScopeLogs: {
          fields: {
            scope: { type: 'InstrumentationScope', id: 1 },
            logRecords: { rule: 'repeated', type: 'LogRecord', id: 2 },
            schemaUrl: { type: 'string', id: 3 },
          },
        },
        InstrumentationScope: {
          fields: {
            name: { type: 'string', id: 1 },
            version: { type: 'string', id: 2 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 3 },
            droppedAttributesCount: { type: 'uint32', id: 4 },
          },
        },
        LogRecord: {
          fields: {
            timeUnixNano: { type: 'fixed64', id: 1 },
            observedTimeUnixNano: { type: 'fixed64', id: 11 },
            severityNumber: { type: 'int32', id: 2 },
            severityText: { type: 'string', id: 3 },
            body: { type: 'AnyValue', id: 5 },
            attributes: { rule: 'repeated', type: 'KeyValue', id: 6 },
            droppedAttributesCount: { type: 'uint32', id: 7 },
            flags: { type: 'fixed32', id: 8 },
            traceId: { type: 'bytes', id: 9 },
            spanId: { type: 'bytes', id: 10 },
            eventName: { type: 'string', id: 12 },
          },
        },
        AnyValue: anyValue,
        ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
        KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
        /** google.rpc.Status, the body of a failed OTLP/HTTP protobuf request. */
        Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } },
      },
    },
  },
});
export const ExportLogsServiceRequest = root.lookupType('otlp.ExportLogsServiceRequest');
const ExportLogsServiceResponse = root.lookupType('otlp.ExportLogsServiceResponse');
const RpcStatus = root.lookupType('otlp.Status');

/** Severity number ranges of the OTLP log data model, 1-4 TRACE .. 21-24 FATAL. */
export function levelOfSeverityNumber(n: number): string | undefined {
  if (n >= 1 && n <= 4) return 'trace';
  if (n >= 5 && n <= 8) return 'debug';
  if (n >= 9 && n <= 12) return 'info';
  if (n >= 13 && n <= 16) return 'warn';
  if (n >= 17 && n <= 20) return 'error';
  if (n >= 21 && n <= 24) return 'critical';
  return undefined;
}

const SEVERITY_NAMES: Record<string, number> = Object.fromEntries(
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((name, i) =>
    [1, 2, 3, 4].map((sub) => [`SEVERITY_NUMBER_${name}${sub === 1 ? '' : sub}`, i * 4 + sub]),
  ),
);

function levelOf(number: number, text: string | undefined): string | undefined {
  const byNumber = levelOfSeverityNumber(number);
  if (byNumber !== undefined) return byNumber;
  return normalLevel(text);
}

// ---- one shape for both encodings -------------------------------------------------------

interface Value {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: unknown;
  doubleValue?: unknown;
  arrayValue?: { values?: Value[] | null } | null;
  kvlistValue?: { values?: KeyValue[] | null } | null;
  bytesValue?: unknown;
}
interface KeyValue {
  key?: string;
  value?: Value | null;
}
interface Record_ {
  timeUnixNano?: unknown;
  observedTimeUnixNano?: unknown;
  severityNumber?: unknown;
  severityText?: string;
  body?: Value | null;
  attributes?: KeyValue[] | null;
  traceId?: unknown;
  spanId?: unknown;
  eventName?: string;
}
interface Request_ {
  resourceLogs?: {
    resource?: { attributes?: KeyValue[] | null } | null;
    scopeLogs?: { logRecords?: Record_[] | null }[] | null;
  }[] | null;
}

type Encoding = 'protobuf' | 'json';

function toBigInt(value: unknown, encoding: Encoding): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  if (typeof value === 'string') {
    if (!/^-?\d{1,20}$/.test(value)) throw new AppError('INVALID_BODY', `The integer ${JSON.stringify(value.slice(0, 40))} is not a decimal number`);
    return BigInt(value);
  }
  if (encoding === 'protobuf' && typeof value === 'object') return longToBigInt(value as { low: number; high: number });
  throw new AppError('INVALID_BODY', 'An integer member holds neither a number nor a decimal string');
}

function hex(value: unknown, encoding: Encoding): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (encoding === 'protobuf') {
    const bytes = value as Uint8Array;
    return bytes.length === 0 || bytes.every((b) => b === 0) ? undefined : Buffer.from(bytes).toString('hex');
  }
  if (typeof value !== 'string') throw new AppError('INVALID_BODY', 'traceId and spanId must be hex strings');
  if (value === '') return undefined;
  if (!/^[0-9a-fA-F]+$/.test(value)) throw new AppError('INVALID_BODY', `The id ${JSON.stringify(value.slice(0, 40))} is not hex`);
  return /^0+$/.test(value) ? undefined : value.toLowerCase();
}

/** Whether a trace or span id is absent (unset, empty): what hex() answers undefined for without looking at it. */
function noId(value: unknown, encoding: Encoding): boolean {
  if (value === undefined || value === null) return true;
  return encoding === 'protobuf' ? (value as Uint8Array).length === 0 : value === '';
}

/** An AnyValue as a plain JS value (maps as objects, arrays as arrays, bytes as base64). */
function plain(value: Value | null | undefined, encoding: Encoding, depth = 0): unknown {
  if (value === null || value === undefined || depth > 32) return undefined;
  // The usual body, a string: answered before the general look at every member.
  if (typeof value.stringValue === 'string' && Object.hasOwn(value, 'stringValue')) return value.stringValue;
  // Only the member that was set: decoded protobuf messages show proto3 defaults for the rest.
  const has = (name: keyof Value): boolean => Object.hasOwn(value, name) && value[name] !== undefined && value[name] !== null;
  if (has('stringValue')) return value.stringValue;
  if (has('boolValue')) return value.boolValue;
  if (has('intValue')) return toBigInt(value.intValue, encoding).toString();
  if (has('doubleValue')) return Number(value.doubleValue);
  if (has('arrayValue')) return (value.arrayValue?.values ?? []).map((inner) => plain(inner, encoding, depth + 1) ?? null);
  if (has('kvlistValue')) {
    const out: Record<string, unknown> = {};
    for (const pair of value.kvlistValue?.values ?? []) if (pair.key) out[pair.key] = plain(pair.value, encoding, depth + 1);
    return out;
  }
  if (has('bytesValue')) {
    return encoding === 'protobuf' ? Buffer.from(value.bytesValue as Uint8Array).toString('base64') : String(value.bytesValue);
  }
  return undefined;
}

function addAttributes(out: Record<string, string>, attributes: KeyValue[] | null | undefined, encoding: Encoding): void {
  for (const pair of attributes ?? []) {
    if (!pair.key) continue;
    addValue(out, pair.key, plain(pair.value, encoding));
  }
}

function addValue(out: Record<string, string>, name: string, value: unknown, depth = 0): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string') out[name] = value;
  else if (typeof value === 'object' && !Array.isArray(value) && depth < 16) {
    for (const [key, inner] of Object.entries(value)) addValue(out, `${name}.${key}`, inner, depth + 1);
  } else out[name] = JSON.stringify(value);
}

function severityNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return /^\d+$/.test(value) ? Number(value) : (SEVERITY_NAMES[value] ?? 0);
  return 0;
}

function toBatches(request: Request_, encoding: Encoding, auth: PushAuth, now: bigint): PushedBatch[] {
  if (typeof request !== 'object' || request === null) throw new AppError('INVALID_BODY', 'The body must be an ExportLogsServiceRequest object');
  const batches: PushedBatch[] = [];
  for (const resourceLogs of request.resourceLogs ?? []) {
    const resource: Record<string, string> = {};
    addAttributes(resource, resourceLogs.resource?.attributes, encoding);
    const entries: PushedEntry[] = [];
    // The fields of records that add only a level to the resource's: one map for a run of them
    // with the same level (the sink only reads it).
    let shared: Record<string, string> | undefined;
    let sharedLevel: string | undefined;
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        const level = levelOf(severityNumber(record.severityNumber), record.severityText);
        let fields: Record<string, string>;
        if ((record.attributes ?? []).length === 0 && noId(record.traceId, encoding) && noId(record.spanId, encoding) && !record.eventName) {
          if (shared === undefined || sharedLevel !== level) {
            shared = { ...resource };
            if (level !== undefined) shared.level = level;
            sharedLevel = level;
          }
          fields = shared;
        } else {
          fields = { ...resource };
          addAttributes(fields, record.attributes, encoding);
          if (level !== undefined) fields.level = level;
          const traceId = hex(record.traceId, encoding);
          if (traceId !== undefined) fields.trace_id = traceId;
          const spanId = hex(record.spanId, encoding);
          if (spanId !== undefined) fields.span_id = spanId;
          if (record.eventName) fields.event_name = record.eventName;
        }
        let timestamp = toBigInt(record.timeUnixNano, encoding);
        if (timestamp === 0n) timestamp = toBigInt(record.observedTimeUnixNano, encoding);
        if (timestamp === 0n) timestamp = now;
        const body = plain(record.body, encoding);
        const line = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
        entries.push({ timestamp, line, fields });
      }
    }
    if (entries.length === 0) continue;
    const host = resource['host.name'];
    const service = resource['service.name'];
    batches.push({
      host: host !== undefined && host !== '' ? host : fallbackHost(auth),
      filename: service !== undefined && service !== '' ? service : DEFAULT_FILENAME,
      entries,
    });
  }
  return batches;
}

export function decodeOtlpProtobuf(bytes: Uint8Array, auth: PushAuth, now: bigint): PushedBatch[] {
  let request: Request_;
  try {
    request = ExportLogsServiceRequest.decode(bytes) as unknown as Request_;
  } catch (error) {
    throw new AppError('INVALID_BODY', `The body is not an OTLP ExportLogsServiceRequest (protobuf): ${(error as Error).message}`);
  }
  return toBatches(request, 'protobuf', auth, now);
}

/** snake_case keys of the proto names are accepted too, as protobuf's JSON parsers do. */
function camelKeys(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((item) => camelKeys(item, depth + 1));
  if (typeof value !== 'object' || value === null || depth > 64) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key.includes('_') ? key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) : key] = camelKeys(inner, depth + 1);
  }
  return out;
}

export function decodeOtlpJson(body: unknown, auth: PushAuth, now: bigint): PushedBatch[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('INVALID_BODY', 'The body must be an ExportLogsServiceRequest object: {"resourceLogs":[…]}');
  }
  const request = 'resource_logs' in body ? (camelKeys(body) as Request_) : (body as Request_);
  if (request.resourceLogs !== undefined && request.resourceLogs !== null && !Array.isArray(request.resourceLogs)) {
    throw new AppError('INVALID_BODY', 'Body field resourceLogs must be an array');
  }
  return toBatches(request, 'json', auth, now);
}

export interface PartialSuccess {
  rejectedLogRecords: number;
  errorMessage: string;
}

export function encodeResponse(partial: PartialSuccess | undefined, encoding: Encoding): Uint8Array | string {
  if (encoding === 'json') {
    return JSON.stringify(
      partial === undefined ? {} : { partialSuccess: { rejectedLogRecords: String(partial.rejectedLogRecords), errorMessage: partial.errorMessage } },
    );
  }
  const message = ExportLogsServiceResponse.create(partial === undefined ? {} : { partialSuccess: partial });
  return ExportLogsServiceResponse.encode(message).finish();
}

/** google.rpc.Status codes for HTTP statuses (the gRPC mapping of HTTP errors). */
function grpcCode(status: number): number {
  if (status === 400) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return 5; // NOT_FOUND
  if (status === 413) return 11; // OUT_OF_RANGE
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  return 13; // INTERNAL
}

export function encodeStatus(status: number, message: string): Uint8Array {
  return RpcStatus.encode(RpcStatus.create({ code: grpcCode(status), message })).finish();
}
