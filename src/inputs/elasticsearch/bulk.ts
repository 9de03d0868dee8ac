/**
 * Elasticsearch's bulk API (`POST /_bulk`, `POST /{index}/_bulk`) as an input: NDJSON action
 * lines, each `index` or `create` followed by its document, become pushed entries; the answer
 * is ES's own per-item shape, `errors` true only when some item failed.
 *
 * A document's text is its `message` (else a string `log` or `MESSAGE`, else the whole
 * document as JSON), its time `@timestamp` (RFC 3339, a date, or epoch milliseconds; else the
 * time of arrival), its host `host.name`, `host.hostname` or a string `host` (or syslog-ng's
 * `HOST`), its filename the index; its other
 * members become fields, flattened with `.`. An action's `_id` is the entry's id, so a bulk
 * request sent again after a lost answer stores each such document once. `update` and
 * `delete` cannot apply to an append-only store: they fail alone with a 400 item.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../common/errors.js';
import { parseRfc3339 } from '../../common/time.js';
import { fallbackHost, flattenInto } from '../http-common.js';
import type { PushAuth, PushedBatch, PushedEntry, PushRejection, PushResult } from '../sink.js';

/** The version `GET /` reports: clients pick their API from its major (Filebeat wants >= its own). */
export const ES_VERSION = '8.17.0';
export const ES_LUCENE_VERSION = '9.12.0';

type Action = 'index' | 'create' | 'update' | 'delete';
const ACTIONS = new Set<string>(['index', 'create', 'update', 'delete']);

export interface BulkItemError {
  status: number;
  type: string;
  reason: string;
}

/** One operation of a bulk request, in request order. */
export interface BulkOperation {
  action: Action;
  index: string | undefined;
  id: string;
  /** Where its entry went: batch and entry index in the pushed batches. */
  at?: { batch: number; entry: number };
  /** Failed before reaching the store. */
  error?: BulkItemError;
}

export interface DecodedBulk {
  operations: BulkOperation[];
  batches: PushedBatch[];
}

/** Ids of documents sent without one: unique per process (a random prefix and a counter), cheap to make. */
const ID_PREFIX = randomBytes(9).toString('base64url');
let idCounter = 0;
function newId(): string {
  idCounter += 1;
  return `${ID_PREFIX}${idCounter.toString(36).padStart(8, '0')}`;
}

/** `@timestamp` as ns: RFC 3339 (a zone-less one as UTC), `YYYY-MM-DD`, or epoch milliseconds. */
export function documentTime(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.round(value)) * 1_000_000n;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.length === 10 && /^\d{4}-\d{2}-\d{2}$/.test(text)) return parseRfc3339(`${text}T00:00:00Z`);
  if (text.length <= 16 && /^\d{1,16}$/.test(text)) return BigInt(text) * 1_000_000n;
  return rfc3339Time(text);
}

/** Length of `YYYY-MM-DDTHH:MM:SS`, the whole second an RFC 3339 time starts with. */
const SECOND_LENGTH = 19;
/** The whole second and zone of the last time parsed, and their time: a bulk request's documents mostly share them. */
let lastSecond = '';
let lastZone = '';
let lastSecondNs = 0n;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * parseRfc3339(text, true), parsing the whole second and zone only when they differ from the
 * last time's: the time is that second's plus the fraction (1 to 9 digits after `.` or `,`).
 */
function rfc3339Time(text: string): bigint | undefined {
  if (text.length <= SECOND_LENGTH) return parseRfc3339(text, true);
  let at = SECOND_LENGTH;
  let fractionNs = 0;
  const mark = text.charCodeAt(at);
  if (mark === 46 || mark === 44) {
    const digitsStart = ++at;
    let value = 0;
    for (let code = text.charCodeAt(at); at < text.length && isDigit(code); code = text.charCodeAt(++at)) value = value * 10 + (code - 48);
    const digits = at - digitsStart;
    if (digits < 1 || digits > 9) return parseRfc3339(text, true);
    fractionNs = value * 10 ** (9 - digits);
  }
  const sameSecond = lastSecond !== '' && text.startsWith(lastSecond) && text.length - at === lastZone.length && text.endsWith(lastZone);
  if (!sameSecond) {
    const second = text.slice(0, SECOND_LENGTH);
    const zone = text.slice(at);
    const ns = parseRfc3339(second + zone, true);
    if (ns === undefined) return parseRfc3339(text, true);
    lastSecond = second;
    lastZone = zone;
    lastSecondNs = ns;
  }
  return lastSecondNs + BigInt(fractionNs);
}

/** Where a document's text is: ECS and most shippers, Docker-style `log`, syslog-ng's default template. */
const TEXT_MEMBERS = ['message', 'log', 'MESSAGE'] as const;

function hostOf(doc: Record<string, unknown>): string | undefined {
  const host = doc.host;
  if (typeof host === 'string' && host !== '') return host;
  if (typeof host === 'object' && host !== null && !Array.isArray(host)) {
    const { name, hostname } = host as { name?: unknown; hostname?: unknown };
    if (typeof name === 'string' && name !== '') return name;
    if (typeof hostname === 'string' && hostname !== '') return hostname;
  }
  const dotted = doc['host.name'] ?? doc['host.hostname'] ?? doc.HOST;
  return typeof dotted === 'string' && dotted !== '' ? dotted : undefined;
}

function actionLine(line: string, number: number): { action: Action; meta: Record<string, unknown> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new AppError('INVALID_BODY', `Bulk line ${number} is not valid JSON: ${(error as Error).message}`);
  }
  const keys = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.keys(parsed) : [];
  const action = keys[0];
  if (keys.length !== 1 || action === undefined || !ACTIONS.has(action)) {
    throw new AppError('INVALID_BODY', `Bulk line ${number} must be an action: {"index"|"create"|"update"|"delete": {…}}`);
  }
  const meta = (parsed as Record<string, unknown>)[action];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new AppError('INVALID_BODY', `Bulk line ${number}: the ${action} action's metadata must be an object`);
  }
  return { action: action as Action, meta: meta as Record<string, unknown> };
}

/**
 * Decodes an NDJSON bulk body. `pathIndex` is the `{index}` of `POST /{index}/_bulk`. A
 * malformed action line refuses the request (as ES does); a bad document fails its item alone.
 */
export function decodeBulk(text: string, pathIndex: string | undefined, auth: PushAuth, now: bigint): DecodedBulk {
  const lines = text.split('\n');
  const operations: BulkOperation[] = [];
  const batches: PushedBatch[] = [];
  const batchOf = new Map<string, number>();
  // Shippers send the same action line before every document: it is parsed once (the result is only read).
  let lastActionText: string | undefined;
  let lastAction: { action: Action; meta: Record<string, unknown> } | undefined;
  // The batch of the last document's host and index: consecutive documents mostly share them.
  let lastHost: string | undefined;
  let lastBatchIndex: string | undefined;
  let lastBatch: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (line !== lastActionText || lastAction === undefined) {
      lastAction = actionLine(line, i + 1);
      lastActionText = line;
    }
    const { action, meta } = lastAction;
    const metaIndex = typeof meta._index === 'string' && meta._index !== '' ? meta._index : undefined;
    const index = metaIndex ?? pathIndex;
    const givenId = typeof meta._id === 'string' && meta._id !== '' ? meta._id : typeof meta._id === 'number' ? String(meta._id) : undefined;
    const operation: BulkOperation = { action, index, id: givenId ?? newId() };
    operations.push(operation);
    if (action === 'delete') {
      operation.error = { status: 400, type: 'illegal_argument_exception', reason: 'delete is not supported: this store only appends' };
      continue;
    }
    // index, create and update carry a document line.
    i++;
    const sourceRaw = lines[i];
    if (sourceRaw === undefined || sourceRaw.trim() === '') {
      throw new AppError('INVALID_BODY', `Bulk line ${i + 1}: the ${action} action on line ${i} has no document line after it`);
    }
    if (action === 'update') {
      operation.error = { status: 400, type: 'illegal_argument_exception', reason: 'update is not supported: this store only appends' };
      continue;
    }
    if (index === undefined) {
      operation.error = { status: 400, type: 'action_request_validation_exception', reason: 'Validation Failed: 1: index is missing;' };
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(sourceRaw);
    } catch (error) {
      operation.error = { status: 400, type: 'document_parsing_exception', reason: `failed to parse: ${(error as Error).message}` };
      continue;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      operation.error = { status: 400, type: 'document_parsing_exception', reason: 'the document must be a JSON object' };
      continue;
    }
    const document = doc as Record<string, unknown>;
    const message = TEXT_MEMBERS.find((name) => typeof document[name] === 'string');
    const line_ = message === undefined ? JSON.stringify(document) : (document[message] as string);
    const timestamp = documentTime(document['@timestamp']) ?? now;
    const host = hostOf(document) ?? fallbackHost(auth);
    const fields: Record<string, string> = {};
    // A parsed document's members are all its own (for-in sees what Object.entries would, in the same order).
    for (const name in document) {
      if (name === message || name === '@timestamp') continue;
      flattenInto(fields, name, document[name]);
    }
    let batch = lastBatch;
    if (host !== lastHost || index !== lastBatchIndex) {
      const key = `${host}\u0000${index}`;
      batch = batchOf.get(key);
      if (batch === undefined) {
        batch = batches.length;
        batchOf.set(key, batch);
        batches.push({ host, filename: index, entries: [] });
      }
      lastHost = host;
      lastBatchIndex = index;
      lastBatch = batch;
    }
    const entries = (batches[batch!] as PushedBatch).entries;
    operation.at = { batch: batch!, entry: entries.length };
    const entry: PushedEntry = { timestamp, line: line_, fields };
    if (givenId !== undefined) entry.id = givenId;
    entries.push(entry);
  }
  return { operations, batches };
}

const ERROR_TYPES: Record<string, string> = {
  HOST_NOT_ALLOWED: 'security_exception',
  INVALID_NAME: 'illegal_argument_exception',
  INVALID_BODY: 'document_parsing_exception',
};

function itemError(rejection: PushRejection): BulkItemError {
  const status = rejection.code === 'HOST_NOT_ALLOWED' ? 403 : 400;
  return { status, type: ERROR_TYPES[rejection.code] ?? 'illegal_argument_exception', reason: `${rejection.code}: ${rejection.message}` };
}

/**
 * The bulk answer as compact JSON: one item per operation, in order; `errors` only when some
 * item failed. Written as text, as it is on the hot path (a 1,000-document request answers
 * 1,000 items). A stored item says what shippers read (`status`, and `error` when it failed:
 * Filebeat, Logstash, Vector, Fluent Bit and the official clients' bulk helpers) and what
 * identifies the document (`_index`, `_id`, `_version`, `result`); Elasticsearch's replica
 * and sequence numbers (`_shards`, `_seq_no`, `_primary_term`), which have no meaning here and
 * were half of each item's bytes, are left out, as VictoriaLogs leaves out all but `status`.
 */
export function bulkResponseText(decoded: DecodedBulk, result: PushResult | undefined, tookMs: number): string {
  const byBatch = new Map<number, BulkItemError>();
  const byEntry = new Map<number, Map<number, BulkItemError>>();
  for (const rejection of result?.rejected ?? []) {
    if (rejection.entry === undefined) byBatch.set(rejection.batch, itemError(rejection));
    else {
      let entries = byEntry.get(rejection.batch);
      if (!entries) byEntry.set(rejection.batch, (entries = new Map<number, BulkItemError>()));
      entries.set(rejection.entry, itemError(rejection));
    }
  }
  let errors = false;
  const items: string[] = [];
  let lastIndex: string | undefined;
  let lastIndexJson = '""';
  for (const operation of decoded.operations) {
    const at = operation.at;
    const error = operation.error ?? (at === undefined ? undefined : (byBatch.get(at.batch) ?? byEntry.get(at.batch)?.get(at.entry)));
    const index = operation.index ?? '';
    if (index !== lastIndex) {
      lastIndex = index;
      lastIndexJson = JSON.stringify(index);
    }
    const head = `{"${operation.action}":{"_index":${lastIndexJson},"_id":${JSON.stringify(operation.id)}`;
    if (error !== undefined) {
      errors = true;
      items.push(`${head},"status":${error.status},"error":{"type":${JSON.stringify(error.type)},"reason":${JSON.stringify(error.reason)}}}}`);
    } else {
      items.push(`${head},"_version":1,"result":"created","status":201}}`);
    }
  }
  return `{"took":${tookMs},"errors":${errors},"items":[${items.join(',')}]}`;
}

/** The bulk answer as an object (bulkResponseText parsed). */
export function bulkResponse(decoded: DecodedBulk, result: PushResult | undefined, tookMs: number): Record<string, unknown> {
  return JSON.parse(bulkResponseText(decoded, result, tookMs)) as Record<string, unknown>;
}

/** What `GET /` answers: what ES clients read (version, tagline, build flavor). */
export function rootInfo(name: string): Record<string, unknown> {
  return {
    name,
    cluster_name: 'daniel',
    cluster_uuid: 'daniel-logging-aggregator',
    version: {
      number: ES_VERSION,
      build_flavor: 'default',
      build_type: 'tar',
      build_hash: '0000000000000000000000000000000000000000',
      build_date: '2025-01-01T00:00:00.000Z',
      build_snapshot: false,
      lucene_version: ES_LUCENE_VERSION,
      minimum_wire_compatibility_version: '7.17.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'You Know, for Search',
  };
}
