/**
 * The head of a host: one item per host (`N#<host>` / `HEAD`) that holds the host's newest
 * lines themselves, so a newest-first page of one host (`GET /hosts/<host>/logs`) reads one
 * small item instead of the newest blob of every file the page's lines come from.
 *
 * What the item holds: a floor F (a position in the search order; absent at first) and, per
 * segment it knows of, that segment's lines above F, at most HEAD_LINES lines in all.
 * Writers merge each append's committed segments into it (never a segment before its commit
 * landed) and keep the newest HEAD_LINES lines; the lines they drop raise F. The put is
 * conditional on the version the writer read (`hv`), so with several Daniels one merge never
 * undoes another's; a writer that keeps losing gives up, which only makes readers fall back.
 *
 * The item is a cache, never the truth: a reader verifies it against a strongly consistent
 * by_time listing of the host's segments whose max timestamp reaches F (every segment that
 * can hold a line above F; the whole host while there is no floor). Every listed segment must
 * be known to the head, or the head is not used (segments committed by an older Daniel, a
 * writer that died between its commit and its merge, a merge that gave up). Pieces of
 * segments not listed (deleted by retention, hidden by the retention bound) are left out.
 * Because of that check the item itself is read eventually consistent: a stale copy either
 * lacks a listed segment (not used) or holds lines of a deleted one (left out).
 *
 * Then the lines above F of the listed segments are every line above F, and the shared
 * search engine runs over them: its page is the exact answer when it found `limit + 1`
 * matches (all of them above F, so no line outside can come between), when there is no
 * floor, or when the query's `since` is above F. Otherwise the ordinary listing answers.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { compressPayload, decompressPayload } from '../../segment/compression.js';
import { encodeSegment, type SegmentLine } from '../../segment/codec.js';
import { compileMatchers } from '../../query/matcher.js';
import { compareKeys, type LineKey } from '../../query/order.js';
import { searchSegments } from '../../query/segment-search.js';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from '../../query/backend.js';
import { segmentMatchesList } from '../../query/backend.js';
import type { SearchPage, SearchQuery } from '../../query/types.js';
import { attr, inParallel, isConditionFailure, readN, type Item } from './dynamo-client.js';
import { segmentFromItem, type DynamoSegment, type SegmentContext } from './dynamo-segments.js';
import { headKey, INDEX_BY_TIME, segmentPk, timeKey } from './table-design.js';

/** Lines a head keeps: a default page (100) and its one extra line, with room for lines a snapshot or retention hides. */
export const HEAD_LINES = 128;
/** A head larger than this (long lines) keeps fewer lines: reading it must stay cheaper than the blobs it stands for. */
const HEAD_MAX_BYTES = 24 << 10;
/** Segments a verifying listing may return; more (many tiny appends) and the ordinary listing answers. */
const VERIFY_MAX_SEGMENTS = 64;
/** Conditional puts a merge tries before it gives up (readers then fall back until a later merge succeeds). */
const MERGE_ATTEMPTS = 5;

/**
 * A position in the search order within one host (the host is the head's own). The item keeps
 * the file id too: Daniels before the order broke ties by seq alone (query/order.ts) broke them
 * by host and file id, and read it.
 */
type FloorKey = LineKey & { fileId: string };

interface HeadPiece {
  /** The segment's max timestamp: the piece is kept while the segment can hold lines above the floor. */
  maxTimestamp: bigint;
  /** Its lines above the floor, ascending by offset. */
  lines: SegmentLine[];
}

export interface HostHead {
  /** The version read (`hv`), 0 when there is no item. */
  version: number;
  floor?: FloorKey;
  pieces: Map<string, HeadPiece>;
}

/** A committed segment, as a merge takes it in. */
export interface HeadSegment {
  id: string;
  fileId: string;
  maxTimestamp: bigint;
  lines: readonly SegmentLine[];
}

const emptyHead = (): HostHead => ({ version: 0, pieces: new Map() });

/**
 * A line of a piece, each number a difference from the line before (the first line's from 0,
 * the piece's max timestamp and 0): offset from the previous end, length beyond the text's
 * UTF-8 bytes and newline, timestamp, seq. Most are 0 or 1, so the payload is mostly text.
 */
type LineJson = [offset: number, extra: number, time: number | string, seq: number, text: string, cut?: 0 | 1, fields?: Record<string, string>];
interface HeadJson {
  /** The floor: timestamp, offset, file id, seq. */
  f?: [string, number, string, number];
  /** Pieces: segment id, file id, max timestamp, lines. */
  p: [string, string, string, LineJson[]][];
}

/** A bigint difference as a JSON number when exact, else as a string. */
const delta = (value: bigint): number | string => (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString());

/** The head's payload: JSON, deflated as segment blobs are. */
export function encodeHead(head: HostHead, fileIds: ReadonlyMap<string, string>): Buffer {
  const json: HeadJson = { p: [] };
  if (head.floor !== undefined) json.f = [head.floor.timestamp.toString(), head.floor.offset, head.floor.fileId, head.floor.seq];
  for (const [id, piece] of head.pieces) {
    let end = 0;
    let time = piece.maxTimestamp;
    let seq = 0;
    const lines = piece.lines.map((line): LineJson => {
      const entry: LineJson = [line.offset - end, line.end - line.offset - Buffer.byteLength(line.line) - 1, delta(line.timestamp - time), line.seq - seq, line.line];
      end = line.end;
      time = line.timestamp;
      seq = line.seq;
      if (line.cut || line.fields !== undefined) entry.push(line.cut ? 1 : 0);
      if (line.fields !== undefined) entry.push(line.fields);
      return entry;
    });
    json.p.push([id, fileIds.get(id) ?? '', piece.maxTimestamp.toString(), lines]);
  }
  return compressPayload(Buffer.from(JSON.stringify(json)));
}

export function decodeHead(version: number, data: Uint8Array): { head: HostHead; fileIds: Map<string, string> } {
  const json = JSON.parse(decompressPayload(Buffer.from(data)).toString('utf8')) as HeadJson;
  const head: HostHead = { version, pieces: new Map() };
  if (json.f !== undefined) head.floor = { timestamp: BigInt(json.f[0]), offset: json.f[1], fileId: json.f[2], seq: json.f[3] };
  const fileIds = new Map<string, string>();
  for (const [id, fileId, max, lines] of json.p) {
    const maxTimestamp = BigInt(max);
    fileIds.set(id, fileId);
    let end = 0;
    let time = maxTimestamp;
    let seq = 0;
    head.pieces.set(id, {
      maxTimestamp,
      lines: lines.map(([offset, extra, timeDelta, seqDelta, text, cut, fields]): SegmentLine => {
        const start = end + offset;
        end = start + Buffer.byteLength(text) + 1 + extra;
        time += BigInt(timeDelta);
        seq += seqDelta;
        return { offset: start, end, timestamp: time, line: text, cut: cut === 1, seq, ...(fields === undefined ? {} : { fields }) };
      }),
    });
  }
  return { head, fileIds };
}

interface HeadContext {
  client: DynamoDBClient;
  table: string;
}

/** The head item; eventually consistent reads are enough for readers (they verify) and for a merge's first try (its put is conditional). */
export async function readHead({ client, table }: HeadContext, host: string, consistent: boolean): Promise<{ head: HostHead; fileIds: Map<string, string> }> {
  const key = headKey(host);
  const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk: attr.s(key.pk), sk: attr.s(key.sk) }, ConsistentRead: consistent }));
  const item: Item | undefined = answer.Item;
  const data = item?.d?.B;
  if (item === undefined || data === undefined) return { head: emptyHead(), fileIds: new Map() };
  return decodeHead(readN(item, 'hv', 0), data);
}

const floorOf = (line: SegmentLine, fileId: string): FloorKey => ({ timestamp: line.timestamp, offset: line.offset, fileId, seq: line.seq });
const keyOfLine = (line: SegmentLine): LineKey => ({ timestamp: line.timestamp, offset: line.offset, seq: line.seq });

/**
 * The head with `segments` merged in: every line above the floor, the newest `maxLines` of
 * them kept, the floor raised to the newest line dropped; pieces kept while their segment can
 * still hold lines above the floor (a verifying reader lists those segments).
 */
export function mergeHead(
  base: { head: HostHead; fileIds: ReadonlyMap<string, string> },
  segments: readonly HeadSegment[],
  maxLines: number = HEAD_LINES,
  maxTextBytes: number = Infinity,
): { head: HostHead; fileIds: Map<string, string> } {
  const { head } = base;
  const fileIds = new Map(base.fileIds);
  const floor = head.floor;
  const maxOf = new Map<string, bigint>();
  const lines: { id: string; fileId: string; key: LineKey; line: SegmentLine }[] = [];
  const add = (id: string, fileId: string, maxTimestamp: bigint, pieceLines: readonly SegmentLine[]): void => {
    fileIds.set(id, fileId);
    maxOf.set(id, maxTimestamp);
    for (const line of pieceLines) {
      const key = keyOfLine(line);
      if (floor === undefined || compareKeys(key, floor) > 0) lines.push({ id, fileId, key, line });
    }
  };
  for (const [id, piece] of head.pieces) add(id, fileIds.get(id) ?? '', piece.maxTimestamp, piece.lines);
  for (const segment of segments) if (!head.pieces.has(segment.id)) add(segment.id, segment.fileId, segment.maxTimestamp, segment.lines);
  lines.sort((a, b) => compareKeys(b.key, a.key));
  const merged: HostHead = { version: head.version, pieces: new Map() };
  if (head.floor !== undefined) merged.floor = head.floor;
  let keep = Math.min(maxLines, lines.length);
  for (let i = 0, bytes = 0; i < keep; i++) {
    bytes += lines[i]!.line.line.length;
    if (bytes > maxTextBytes) keep = i;
  }
  if (lines.length > keep) {
    const dropped = lines[keep]!;
    merged.floor = floorOf(dropped.line, dropped.fileId);
    lines.length = keep;
  }
  const floorTs = merged.floor?.timestamp;
  for (const [id, maxTimestamp] of maxOf) if (floorTs === undefined || maxTimestamp >= floorTs) merged.pieces.set(id, { maxTimestamp, lines: [] });
  for (const { id, line } of lines) merged.pieces.get(id)!.lines.push(line);
  for (const piece of merged.pieces.values()) piece.lines.sort((a, b) => a.offset - b.offset);
  for (const id of [...fileIds.keys()]) if (!merged.pieces.has(id)) fileIds.delete(id);
  return { head: merged, fileIds };
}

function headLineCount(head: HostHead): number {
  let count = 0;
  for (const piece of head.pieces.values()) count += piece.lines.length;
  return count;
}

/**
 * Merges an append's committed segments into the host's head: a conditional put on the
 * version read, read again (strongly) and merged again when another writer came first. Gives
 * up quietly after a few rounds: the head is only ever a verified cache.
 */
export async function mergeIntoHead(context: HeadContext, host: string, segments: readonly HeadSegment[], maxLines: number = HEAD_LINES): Promise<void> {
  if (segments.length === 0) return;
  const { client, table } = context;
  const key = headKey(host);
  for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
    const base = await readHead(context, host, attempt > 0);
    // Text well past what compresses into the item is not tried (a few huge lines).
    let merged = mergeHead(base, segments, maxLines, HEAD_MAX_BYTES * 8);
    let data = encodeHead(merged.head, merged.fileIds);
    // Down to no line at all: the floor is then the newest line, and the head still verifies.
    for (let keep = headLineCount(merged.head); data.length > HEAD_MAX_BYTES && keep > 0; ) {
      keep = Math.floor(keep / 2);
      merged = mergeHead(base, segments, keep);
      data = encodeHead(merged.head, merged.fileIds);
    }
    const version = base.head.version;
    try {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: attr.s(key.pk), sk: attr.s(key.sk), hv: attr.n(version + 1), d: attr.b(data) },
          ...(version === 0 ? { ConditionExpression: 'attribute_not_exists(pk)' } : { ConditionExpression: 'hv = :v', ExpressionAttributeValues: { ':v': attr.n(version) } }),
        }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

/**
 * The segments of `host` whose max timestamp is at least `fromTs` (all without it), strongly
 * consistent, visible ones only; null when there are more than VERIFY_MAX_SEGMENTS.
 */
async function listNewest(context: SegmentContext, host: string, fromTs: bigint | undefined, visible: (segment: DynamoSegment) => boolean): Promise<DynamoSegment[] | null> {
  const { client, table, shards } = context;
  const pages = await inParallel(
    Array.from({ length: shards }, (_, shard) => segmentPk(host, shard)),
    8,
    async (pk) => {
      const answer = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: INDEX_BY_TIME,
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: VERIFY_MAX_SEGMENTS + 1,
          ...(fromTs === undefined
            ? { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(pk) } }
            : { KeyConditionExpression: 'pk = :pk AND lt >= :t', ExpressionAttributeValues: { ':pk': attr.s(pk), ':t': attr.s(timeKey(fromTs)) } }),
        }),
      );
      return answer.Items ?? [];
    },
  );
  const items = pages.flat();
  if (items.length > VERIFY_MAX_SEGMENTS) return null;
  return items.map((item) => segmentFromItem(item)).filter(visible);
}

/** The head's pieces as segments for the shared engine: metadata from the listing, lines from the head. */
function headBackend(pieces: { meta: SegmentMeta; lines: SegmentLine[] }[], lastSeq: () => Promise<number>): SegmentBackend {
  const encoded = new Map<string, Buffer>();
  const metas = pieces.map(({ meta, lines }) => {
    const segment = encodeSegment(lines);
    encoded.set(meta.id, segment.data);
    // The real segment's bounds hold the piece's lines, so listing by them is never narrower than the lines.
    return { ...meta, ascii: meta.ascii && segment.ascii };
  });
  return {
    listSegments: (query: SegmentListQuery) => Promise.resolve(metas.filter((meta) => segmentMatchesList(meta, query))),
    loadBloom: () => Promise.resolve(null),
    loadData: (meta) => Promise.resolve(encoded.get(meta.id) ?? null),
    lastSeq,
  };
}

/**
 * Whether the head holds `limit` matching lines or fewer, counted over every line it holds
 * (an upper bound of what the verified search could find): a rare needle then goes to the
 * ordinary listing without the verifying read. Conditions on fields are not counted here.
 */
function tooFewMatches(head: HostHead, query: SearchQuery): boolean {
  const match = compileMatchers(query.match);
  if (match.usesFields) return false;
  let count = 0;
  for (const piece of head.pieces.values()) {
    for (const line of piece.lines) if (match.matchesAll || match.test(line.line, line.fields)) count++;
  }
  return count <= query.limit;
}

/**
 * Whether a line is above the floor by timestamp and offset alone. A head merged by a Daniel
 * that broke ties by file id (before seq, order.ts) holds the lines above its floor in that
 * order: a line tied with the floor in both may be on either side of it in today's order, and
 * one left out of the head could come between two kept. Lines past the floor in both are past
 * it in either order, so the search runs over those only.
 */
function strictlyAbove(line: SegmentLine, floor: FloorKey): boolean {
  return line.timestamp > floor.timestamp || (line.timestamp === floor.timestamp && line.offset > floor.offset);
}

/** Whether a search can be answered from one host's head: newest first, one host. */
export function headHost(query: SearchQuery): string | undefined {
  if (query.order !== 'desc') return undefined;
  const hosts = [...new Set(query.hosts ?? [])];
  return hosts.length === 1 ? hosts[0] : undefined;
}

/**
 * A newest-first page of one host from its head, or undefined when the head cannot answer it
 * exactly (no head, not verified, too few lines above the floor): the caller then searches
 * the ordinary way.
 */
export async function searchFromHead(
  context: SegmentContext,
  host: string,
  query: SearchQuery,
  visible: (segment: DynamoSegment) => boolean,
  lastSeq: () => Promise<number>,
): Promise<SearchPage | undefined> {
  const { head } = await readHead(context, host, false);
  if (head.version === 0) return undefined;
  const floor = head.floor;
  if (floor !== undefined && !(query.since !== undefined && query.since > floor.timestamp) && tooFewMatches(head, query)) return undefined;
  const listed = await listNewest(context, host, head.floor?.timestamp, visible);
  if (listed === null) return undefined;
  const pieces: { meta: SegmentMeta; lines: SegmentLine[] }[] = [];
  for (const segment of listed) {
    const piece = head.pieces.get(segment.id);
    if (piece === undefined) return undefined; // a segment the head has not seen
    const lines = floor === undefined ? piece.lines : piece.lines.filter((line) => strictlyAbove(line, floor));
    if (lines.length > 0) pieces.push({ meta: segment, lines });
  }
  const page = await searchSegments(headBackend(pieces, lastSeq), query);
  if (page.partial) return undefined;
  const complete = page.nextCursor !== undefined || head.floor === undefined || (query.since !== undefined && query.since > head.floor.timestamp);
  return complete ? page : undefined;
}
