/**
 * Search cursors: base64url JSON that pins the snapshot of the first page (the highest seq
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

/** Reused for the cursors of every line of a page (10,000 at most): no buffer per cursor. */
const cursorScratch = Buffer.allocUnsafe(2048);

function base64url(json: string): string {
  if (json.length * 3 > cursorScratch.length) return Buffer.from(json).toString('base64url');
  const bytes = cursorScratch.write(json, 0, 'utf8');
  return cursorScratch.toString('base64url', 0, bytes);
}

export function encodeCursor(cursor: SearchCursor, fingerprint: string): string {
  const position = cursor.position;
  if (position.kind === 'after') {
    // Every line of a page gets a cursor: the JSON that JSON.stringify would give, built directly.
    const k = position.key;
    return base64url(
      `{"v":1,"s":${cursor.snapshotSeq},"f":${JSON.stringify(fingerprint)},"k":["${k.timestamp}",${k.offset},${JSON.stringify(k.host)},${JSON.stringify(k.fileId)},${k.seq}]}`,
    );
  }
  const json: CursorJson = { v: 1, s: cursor.snapshotSeq, f: fingerprint };
  if (position.kind === 'boundary') {
    json.b = position.timestamp.toString();
  }
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

const INTEGER = /^-?\d{1,20}$/;

function invalid(): InvalidCursorError {
  return new InvalidCursorError('The cursor is malformed or belongs to another query; start again without it.');
}

function isSafeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function decodeCursor(text: string, fingerprint: string): SearchCursor {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(text)) throw invalid();
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
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
  return (line) => encodeCursor({ snapshotSeq, position: { kind: 'after', key: keyOf(line) } }, fingerprint);
}
