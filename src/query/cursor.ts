/**
 * Search cursors: base64url bytes that pin the snapshot of the first page (the highest seq
 * then) and the position reached, tied to the query by a fingerprint so a cursor cannot be
 * replayed against another filter or order.
 */
import { printQuery } from './language.js';
import { createHash } from 'node:crypto';
import { InvalidCursorError, type LineFilter, type SearchPage, type SearchQuery, type StoredLine } from './types.js';
import { compareInOrder, keyOf, type LineKey } from './order.js';

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
 * The cursor's bytes (format 2), before base64url: 2; the snapshot seq (varint); the
 * fingerprint (varint byte length, UTF-8); the position's kind (0 start, 1 after, 2 boundary);
 * for `after` the line's key: timestamp (int64, big-endian), offset (varint), host and file id
 * (each varint byte length, UTF-8), seq (varint); for `boundary` the timestamp (int64). Every
 * line of a page carries a cursor, and format 1 (the base64url of a JSON object, still read)
 * spelt each one out in ~187 characters, a quarter of a /logs entry of the bench's lines; this
 * is ~115. Its first bytes (the version to the kind) are the same for every line of a page.
 */
const FORMAT_2 = 2;
const KIND_START = 0;
const KIND_AFTER = 1;
const KIND_BOUNDARY = 2;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Reused for the cursors of every line of a page (10,000 at most): no buffer per cursor. */
let scratch = Buffer.allocUnsafe(2048);

function room(at: number, bytes: number): void {
  if (at + bytes <= scratch.length) return;
  const grown = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + bytes));
  scratch.copy(grown, 0, 0, at);
  scratch = grown;
}

/** A safe non-negative integer, 7 bits a byte, low bits first. */
function writeVarint(at: number, value: number): number {
  room(at, 8);
  while (value >= 128) {
    scratch[at++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  scratch[at++] = value;
  return at;
}

function writeText(at: number, text: string): number {
  const bytes = Buffer.byteLength(text);
  at = writeVarint(at, bytes);
  room(at, bytes);
  return at + scratch.write(text, at, 'utf8');
}

function writeInt64(at: number, value: bigint): number {
  room(at, 8);
  scratch.writeBigInt64BE(value, at);
  return at + 8;
}

/** Writes the bytes every cursor of this snapshot, query and kind begins with; returns where they end. */
function writeHead(snapshotSeq: number, fingerprint: string, kind: number): number {
  const at = writeText(writeVarint(writeVarint(0, FORMAT_2), snapshotSeq), fingerprint);
  room(at, 1);
  scratch[at] = kind;
  return at + 1;
}

/** Writes a line's key after the head; returns where it ends. */
function writeKey(at: number, key: LineKey): number {
  return writeVarint(writeText(writeText(writeVarint(writeInt64(at, key.timestamp), key.offset), key.host), key.fileId), key.seq);
}

function inInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/** `text.isWellFormed()` (ES2024): no lone surrogate, which UTF-8 cannot carry. */
const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** Whether format 2 can hold the key: all a store's keys (format 1, JSON, holds any). */
function fitsFormat2(key: LineKey): boolean {
  return inInt64(key.timestamp) && isSafeCount(key.offset) && isSafeCount(key.seq) && wellFormed(key.host) && wellFormed(key.fileId);
}

/** Format 1, for a timestamp past int64 (no store holds one; the format stays total). */
function encodeJson(cursor: SearchCursor, fingerprint: string): string {
  const position = cursor.position;
  const json: CursorJson = { v: 1, s: cursor.snapshotSeq, f: fingerprint };
  if (position.kind === 'after') {
    const k = position.key;
    json.k = [k.timestamp.toString(), k.offset, k.host, k.fileId, k.seq];
  } else if (position.kind === 'boundary') {
    json.b = position.timestamp.toString();
  }
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

export function encodeCursor(cursor: SearchCursor, fingerprint: string): string {
  const position = cursor.position;
  if (!isSafeCount(cursor.snapshotSeq) || (position.kind === 'after' ? !fitsFormat2(position.key) : position.kind === 'boundary' && !inInt64(position.timestamp))) {
    return encodeJson(cursor, fingerprint);
  }
  if (!wellFormed(fingerprint)) return encodeJson(cursor, fingerprint);
  let at = writeHead(cursor.snapshotSeq, fingerprint, position.kind === 'after' ? KIND_AFTER : position.kind === 'boundary' ? KIND_BOUNDARY : KIND_START);
  if (position.kind === 'after') at = writeKey(at, position.key);
  else if (position.kind === 'boundary') at = writeInt64(at, position.timestamp);
  return scratch.toString('base64url', 0, at);
}

/** Reads format 2 bytes; undefined when they are not a whole, well-formed cursor. */
class Reader {
  at = 0;
  constructor(private readonly bytes: Buffer) {}

  varint(): number | undefined {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.bytes[this.at++];
      if (byte === undefined) return undefined;
      value += (byte & 127) * scale;
      if (byte < 128) return Number.isSafeInteger(value) ? value : undefined;
      scale *= 128;
    }
    return undefined;
  }

  text(): string | undefined {
    const length = this.varint();
    if (length === undefined || this.at + length > this.bytes.length) return undefined;
    const text = this.bytes.toString('utf8', this.at, this.at + length);
    this.at += length;
    return text;
  }

  int64(): bigint | undefined {
    if (this.at + 8 > this.bytes.length) return undefined;
    const value = this.bytes.readBigInt64BE(this.at);
    this.at += 8;
    return value;
  }

  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

function decodeFormat2(bytes: Buffer, fingerprint: string): SearchCursor {
  const read = new Reader(bytes);
  if (read.varint() !== FORMAT_2) throw invalid();
  const snapshotSeq = read.varint();
  if (snapshotSeq === undefined || read.text() !== fingerprint) throw invalid();
  const kind = bytes[read.at++];
  let position: CursorPosition | undefined;
  if (kind === KIND_START) position = { kind: 'start' };
  else if (kind === KIND_BOUNDARY) {
    const timestamp = read.int64();
    if (timestamp !== undefined) position = { kind: 'boundary', timestamp };
  } else if (kind === KIND_AFTER) {
    const timestamp = read.int64();
    const offset = read.varint();
    const host = read.text();
    const fileId = read.text();
    const seq = read.varint();
    if (timestamp !== undefined && offset !== undefined && host !== undefined && fileId !== undefined && seq !== undefined) {
      position = { kind: 'after', key: { timestamp, offset, host, fileId, seq } };
    }
  }
  if (position === undefined || !read.done) throw invalid();
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
  if (bytes[0] === FORMAT_2) return decodeFormat2(bytes, fingerprint);
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
    return { snapshotSeq: json.s, position: { kind: 'after', key: { timestamp: BigInt(ts), offset, host, fileId, seq } } };
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
  if (!isSafeCount(snapshotSeq) || !wellFormed(fingerprint)) return (line) => encodeCursor({ snapshotSeq, position: { kind: 'after', key: keyOf(line) } }, fingerprint);
  // The head is written once; each line's key after it (a head written by another page's cursors in between is written again).
  let head: Buffer | undefined;
  return (line) => {
    if (!fitsFormat2(line)) return encodeCursor({ snapshotSeq, position: { kind: 'after', key: keyOf(line) } }, fingerprint);
    if (head === undefined) head = Buffer.from(scratch.subarray(0, writeHead(snapshotSeq, fingerprint, KIND_AFTER)));
    room(0, head.length);
    head.copy(scratch, 0);
    return scratch.toString('base64url', 0, writeKey(head.length, line));
  };
}
