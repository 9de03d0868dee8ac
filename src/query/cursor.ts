/**
 * Search cursors: base64url bytes that pin the snapshot of the first page (the highest seq
 * then) and the position reached, tied to the query by a fingerprint so a cursor cannot be
 * replayed against another filter or order.
 */
import { printQuery } from './language.js';
import { createHash } from 'node:crypto';
import { InvalidCursorError, type LineFilter, type SearchPage, type SearchQuery, type StoredLine } from './types.js';
import { compareInOrder, keyOf, type LineKey } from './order.js';
import { ByteReader, ByteWriter } from '../protocol/bytes.js';

/**
 * Where a page stopped. `after`: the last line returned; the next page starts strictly after it.
 * `boundary`: no line was returned but every line strictly before this timestamp (in the
 * query's order) has been examined; the next page starts at lines of that timestamp.
 */
export type CursorPosition = { kind: 'after'; key: LineKey } | { kind: 'boundary'; timestamp: bigint } | { kind: 'start' };

export interface SearchCursor {
  snapshotSeq: number;
  position: CursorPosition;
}

interface CursorJson {
  v: 1;
  s: number;
  f: string;
  k?: [string, number, string, string, number];
  b?: string;
}

/** A short digest of everything that decides which lines a search returns and in which order. */
export function queryFingerprint(query: LineFilter & { order: SearchQuery['order'] }): string {
  const canonical = {
    o: query.order,
    h: [...new Set(query.hosts ?? [])].sort(),
    f: [...new Set(query.files ?? [])].sort(),
    s: query.since?.toString() ?? null,
    u: query.until?.toString() ?? null,
    m: (query.match ?? []).map((m) =>
      m.kind === 'substring' ? ['s', m.text, m.caseInsensitive] : m.kind === 'regex' ? ['r', m.pattern, m.caseInsensitive] : ['q', printQuery(m.node), m.caseSensitive],
    ),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 16);
}

/**
 * The cursor's bytes, before base64url, in the byte encoding the segment format shares
 * (protocol/bytes.ts). Format 3, written now: the format, 3 (a byte); the snapshot seq
 * (varint); the first FINGERPRINT_BYTES bytes of the fingerprint's SHA-256; the position's
 * kind (a byte: 0 start, 1 after, 2 boundary); for `after` the line's key: timestamp (int64),
 * offset and seq (varints); for `boundary` the timestamp (int64). A bench line's cursor is 40
 * characters.
 *
 * Still read: format 2, the same but for the fingerprint as a string and, in the key, the
 * line's host and file id (strings) between its offset and its seq, ~115 characters a bench
 * line, about a sixth of its /logs entry (the order then broke ties by them, order.ts); and
 * format 1, the base64url of a JSON object (~187), still written for what format 3 cannot
 * carry exactly (a timestamp past int64). A key read from them keeps its three numbers.
 */
const FORMAT_2 = 2;
const FORMAT_3 = 3;
/** 64 bits of the query's digest: a cursor of another query is told apart but by a 1 in 2^64 chance. */
const FINGERPRINT_BYTES = 8;
const KIND_START = 0;
const KIND_AFTER = 1;
const KIND_BOUNDARY = 2;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Reused for the cursors of every line of a page (10,000 at most): no buffer per cursor. */
const writer = new ByteWriter();

function inInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** The fingerprint's bytes in format 3, for the last fingerprint asked (one query a page). */
let lastFingerprint: string | undefined;
let lastDigest = Buffer.alloc(0);
function digestOf(fingerprint: string): Buffer {
  if (fingerprint !== lastFingerprint) {
    lastDigest = createHash('sha256').update(fingerprint).digest().subarray(0, FINGERPRINT_BYTES);
    lastFingerprint = fingerprint;
  }
  return lastDigest;
}

/** Whether format 3 carries the cursor exactly: a store's always are (format 1, JSON, carries any). */
function fitsFormat3(cursor: SearchCursor): boolean {
  const position = cursor.position;
  if (!isSafeCount(cursor.snapshotSeq)) return false;
  if (position.kind === 'boundary') return inInt64(position.timestamp);
  if (position.kind === 'start') return true;
  const key = position.key;
  return inInt64(key.timestamp) && isSafeCount(key.offset) && isSafeCount(key.seq);
}

/** Format 1, for what format 3 cannot carry exactly (its key's host and file id are no longer needed, and left empty). */
function encodeJson(cursor: SearchCursor, fingerprint: string): string {
  const position = cursor.position;
  const json: CursorJson = { v: 1, s: cursor.snapshotSeq, f: fingerprint };
  if (position.kind === 'after') {
    const k = position.key;
    json.k = [k.timestamp.toString(), k.offset, '', '', k.seq];
  } else if (position.kind === 'boundary') {
    json.b = position.timestamp.toString();
  }
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

export function encodeCursor(cursor: SearchCursor, fingerprint: string): string {
  if (!fitsFormat3(cursor)) return encodeJson(cursor, fingerprint);
  const position = cursor.position;
  writer.length = 0;
  writeHead(writer, cursor.snapshotSeq, fingerprint);
  if (position.kind === 'after') {
    const key = position.key;
    writer.byte(KIND_AFTER);
    writer.int64(key.timestamp);
    writer.varint(key.offset);
    writer.varint(key.seq);
  } else if (position.kind === 'boundary') {
    writer.byte(KIND_BOUNDARY);
    writer.int64(position.timestamp);
  } else {
    writer.byte(KIND_START);
  }
  return writer.bytes().toString('base64url');
}

/** What every format 3 cursor of one paging starts with: the format, the snapshot seq, the query's fingerprint. */
function writeHead(to: ByteWriter, snapshotSeq: number, fingerprint: string): void {
  to.byte(FORMAT_3);
  to.varint(snapshotSeq);
  to.append(digestOf(fingerprint));
}

function safeCount(read: ByteReader): number {
  const value = read.varint();
  if (!isSafeCount(value)) throw invalid();
  return value;
}

/** Throws INVALID_CURSOR unless `bytes` are one whole format 2 or 3 cursor of this query. */
function decodeBinary(bytes: Buffer, fingerprint: string): SearchCursor {
  const read = new ByteReader(bytes, invalid);
  const format = read.byte(); // FORMAT_2 or FORMAT_3, as the caller saw
  const snapshotSeq = safeCount(read);
  if (format === FORMAT_2) {
    if (read.string() !== fingerprint) throw invalid();
  } else {
    if (!digestOf(fingerprint).equals(read.bytes(FINGERPRINT_BYTES))) throw invalid();
  }
  let position: CursorPosition;
  switch (read.byte()) {
    case KIND_START:
      position = { kind: 'start' };
      break;
    case KIND_BOUNDARY:
      position = { kind: 'boundary', timestamp: read.int64() };
      break;
    case KIND_AFTER: {
      const timestamp = read.int64();
      const offset = safeCount(read);
      if (format === FORMAT_2) {
        read.string(); // the host and the file id, which the order no longer needs
        read.string();
      }
      position = { kind: 'after', key: { timestamp, offset, seq: safeCount(read) } };
      break;
    }
    default:
      throw invalid();
  }
  if (read.position !== bytes.length) throw invalid();
  return { snapshotSeq, position };
}

const INTEGER = /^-?\d{1,20}$/;

function invalid(): InvalidCursorError {
  return new InvalidCursorError('The cursor is malformed or belongs to another query; start again without it.');
}

function isSafeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function decodeCursor(text: string, fingerprint: string): SearchCursor {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(text)) throw invalid();
  const bytes = Buffer.from(text, 'base64url');
  if (bytes[0] === FORMAT_2 || bytes[0] === FORMAT_3) return decodeBinary(bytes, fingerprint);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const json = parsed as Partial<CursorJson>;
  if (json.v !== 1 || json.f !== fingerprint || !isSafeCount(json.s)) throw invalid();
  if (json.k !== undefined) {
    const k: unknown = json.k;
    if (!Array.isArray(k) || k.length !== 5) throw invalid();
    const [ts, offset, host, fileId, seq] = k as unknown[];
    if (typeof ts !== 'string' || !INTEGER.test(ts) || !isSafeCount(offset) || typeof host !== 'string' || typeof fileId !== 'string' || !isSafeCount(seq)) {
      throw invalid();
    }
    return { snapshotSeq: json.s, position: { kind: 'after', key: { timestamp: BigInt(ts), offset, seq } } };
  }
  if (json.b !== undefined) {
    if (typeof json.b !== 'string' || !INTEGER.test(json.b)) throw invalid();
    return { snapshotSeq: json.s, position: { kind: 'boundary', timestamp: BigInt(json.b) } };
  }
  return { snapshotSeq: json.s, position: { kind: 'start' } };
}

/** True when a line with this key is still to come after the position (in the query's order). */
export function isAfterPosition(key: LineKey, position: CursorPosition, order: 'asc' | 'desc'): boolean {
  switch (position.kind) {
    case 'start':
      return true;
    case 'boundary':
      return order === 'desc' ? key.timestamp <= position.timestamp : key.timestamp >= position.timestamp;
    case 'after':
      return compareInOrder(position.key, key, order) < 0;
  }
}

/**
 * The cursor of each line of a page: it resumes right after that line, within the snapshot of
 * the paging that returned it (the API's `cursor` field of every entry). Built here, beside
 * the page cursors, so a cursor's layout is known in this file only.
 */
export function lineCursorOf(query: SearchQuery, page: SearchPage): (line: StoredLine) => string {
  const fingerprint = queryFingerprint(query);
  const pinned = query.cursor ?? page.nextCursor;
  const snapshotSeq = pinned === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(pinned, fingerprint).snapshotSeq;
  const slow = (line: StoredLine): string => encodeCursor({ snapshotSeq, position: { kind: 'after', key: keyOf(line) } }, fingerprint);
  // Every cursor of the page starts with the same bytes (format, snapshot, fingerprint, kind),
  // written once: the same bytes as encodeCursor's. The snapshot is a safe count (decodeCursor
  // checks it), so format 3 carries it; a line's key that it cannot carry goes to encodeCursor.
  const writer = new ByteWriter();
  writeHead(writer, snapshotSeq, fingerprint);
  writer.byte(KIND_AFTER);
  const head = writer.length;
  return (line) => {
    if (!inInt64(line.timestamp) || !isSafeCount(line.offset) || !isSafeCount(line.seq)) return slow(line);
    writer.length = head;
    writer.int64(line.timestamp);
    writer.varint(line.offset);
    writer.varint(line.seq);
    return writer.bytes().toString('base64url');
  };
}
