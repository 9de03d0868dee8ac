/**
 * The segment blob: a run of consecutive lines of one file identity, column by column, then
 * their text, compressed as one (compression.ts: Zstandard level 1; older blobs are raw
 * deflate or brotli). Every store keeps the same blobs (sqlite rows, DynamoDB items).
 *
 * Payload before compression (varints are LEB128; z = zigzag):
 *   u8 version (2) | varint count | varint bytes of the columns below (so the text can be
 *   reached without parsing them; version 1 lacks this varint)
 *   offsets:  varint first, then z(offset[i] - end[i-1])
 *   ends:     z(end[i] - offset[i] - textBytes[i] - 1)   (0 for a whole line ending in \n)
 *   textBytes varint per line
 *   times:    i64 first, then z(ts[i] - ts[i-1]); a delta past 2^51 is written as the marker 2^52 then the i64
 *   seqs:     varint first, then varint(seq[i] - seq[i-1])
 *   cut:      u8 per line
 *   text:     each line's UTF-8 followed by \n
 *
 * Version 3, written only when some line carries fields its source gave: after the column
 * bytes a varint of the fields column's bytes, then that column (per line a varint n, then n
 * pairs of varint length + UTF-8 name, varint length + UTF-8 value), then the columns above.
 * The fields column comes first so it can be read without the others (counting by field).
 */
import { ByteReader, ByteWriter, JOINED_STRING_CHARS } from '../protocol/bytes.js';
import { BodyLine } from '../protocol/body-line.js';
import { BLOOM_FORMAT, buildTrigramBloom } from './bloom.js';
import { compressPayload, compressPayloadAround, compressText, decompressPayload, decompressPayloadAsync } from './compression.js';
import type { SegmentStats } from './meta.js';

/** The byte encoding the segment format shares with the binary ingest batch (protocol/bytes.ts). */
export { ByteReader, ByteWriter };

export interface SegmentLine {
  offset: number;
  end: number;
  timestamp: bigint;
  line: string;
  cut: boolean;
  /** Fields the source gave (not those extracted from the text, which are derived when read). */
  fields?: Record<string, string>;
  /** Ingest sequence: strictly increasing in the order lines became durable; stable forever. */
  seq: number;
}

/** What an encoded run of lines is: the blob, its bloom, and the metadata a backend indexes. */
export interface EncodedSegment extends SegmentStats {
  data: Buffer;
  bloom: Buffer;
}

export interface DecodedSegment {
  count: number;
  offsets: Float64Array;
  ends: Float64Array;
  timestamps: BigInt64Array;
  seqs: Float64Array;
  cuts: Uint8Array;
  /** Start of each line's text in `text`. */
  starts: Int32Array;
  lengths: Int32Array;
  /** Every line's UTF-8 followed by \n. */
  text: Buffer;
  /** The source's fields of line i (version 3 blobs); absent when no line has any. */
  fieldsAt?: (i: number) => Record<string, string> | undefined;
}

const VERSION = 2;
const VERSION_WITH_FIELDS = 3;
const VERSION_WITHOUT_COLUMN_BYTES = 1;
const BIG_DELTA = 2 ** 51;
const BIG_DELTA_MARKER = 2 ** 52;

/** Whether two field maps hold the same names in the same order with the same values. */
export function sameFields(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const names = Object.keys(a);
  const others = Object.keys(b);
  if (names.length !== others.length) return false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name !== others[i] || a[name] !== b[name]) return false;
  }
  return true;
}

/**
 * The fields column: per line a count, then name/value pairs. The lines of one source mostly
 * carry the same fields (a stream's labels, a resource's attributes): a line whose fields are
 * the previous line's copies that line's bytes instead of encoding them again.
 *
 * Also every distinct name and value, one a line, for the bloom, gathered in the same pass: a
 * value's trigrams and tokens need to be in it once, and a name's trigrams tell a query which
 * segments can have that field at all (bloom.ts format 4). A value the previous line had
 * under the same name is already there.
 */
function writeFields(lines: readonly SegmentLine[]): { column: Buffer; values: string } | undefined {
  if (!lines.some((line) => line.fields !== undefined)) return undefined;
  const writer = new ByteWriter();
  const seen = new Set<string>();
  let values = '';
  let previous: Record<string, string> | undefined;
  let previousNames: string[] = [];
  let previousStart = 0;
  let previousEnd = 0;
  for (const line of lines) {
    const fields = line.fields;
    if (fields === undefined) {
      writer.varint(0);
      continue;
    }
    if (fields === previous) {
      writer.copyWithin(previousStart, previousEnd);
      continue;
    }
    // sameFields, with each line's names listed once rather than once per comparison.
    const names = Object.keys(fields);
    if (previous !== undefined && names.length === previousNames.length) {
      let same = true;
      for (let i = 0; i < names.length && same; i++) same = names[i] === previousNames[i] && fields[names[i]!] === previous[names[i]!];
      if (same) {
        writer.copyWithin(previousStart, previousEnd);
        continue;
      }
    }
    previousStart = writer.length;
    writer.varint(names.length);
    for (const name of names) {
      const value = fields[name]!;
      writer.string(name);
      writer.string(value);
      if (!seen.has(name)) {
        seen.add(name);
        values += name + '\n';
      }
      if ((previous !== undefined && previous[name] === value) || seen.has(value)) continue;
      seen.add(value);
      values += value + '\n';
    }
    previousEnd = writer.length;
    previous = fields;
    previousNames = names;
  }
  return { column: writer.bytes(), values };
}

/** Reads the fields column lazily: each line's map is built when first asked for. */
function fieldsReader(column: Buffer, count: number): (i: number) => Record<string, string> | undefined {
  const starts = new Int32Array(count);
  const reader = new ByteReader(column);
  for (let i = 0; i < count; i++) {
    starts[i] = reader.position;
    const pairs = reader.varint();
    for (let p = 0; p < pairs * 2; p++) {
      const bytes = reader.varint(); // read before adding: `position += varint()` would add to the old position
      reader.position += bytes;
    }
  }
  if (reader.position !== column.length) throw new Error('Segment blob fields do not match their length.');
  const endOf = (i: number): number => (i + 1 < count ? starts[i + 1]! : column.length);
  // The last map built: a line whose bytes are the same (the lines of one source mostly carry
  // the same fields) gets a copy of it instead of decoding its strings again.
  let lastIndex = -1;
  let last: Record<string, string> | undefined;
  return (i) => {
    if (i < 0 || i >= count) return undefined;
    const start = starts[i]!;
    const end = endOf(i);
    if (last !== undefined) {
      const lastStart = starts[lastIndex]!;
      if (endOf(lastIndex) - lastStart === end - start && column.compare(column, start, end, lastStart, lastStart + (end - start)) === 0) return { ...last };
    }
    const at = new ByteReader(column);
    at.position = start;
    const pairs = at.varint();
    if (pairs === 0) return undefined;
    const fields: Record<string, string> = {};
    for (let p = 0; p < pairs; p++) {
      const name = at.string();
      fields[name] = at.string();
    }
    lastIndex = i;
    last = fields;
    return { ...fields };
  };
}

/**
 * The costly part of encoding a run of lines, done ahead (off the main thread, encode-pool.ts)
 * from nothing but their text: the bloom of the text and the text compressed on its own, so
 * that encodeSegment only writes the columns. `textBytes` is the text's length, a newline
 * after each of its `lineCount` lines; `ascii` whether it is all ASCII.
 */
export interface PreparedText {
  lineCount: number;
  textBytes: number;
  ascii: boolean;
  bloom: Buffer;
  packed: Buffer;
}

/**
 * The text of lines, each followed by \n: pieces of about JOINED_STRING_CHARS characters at most
 * (a segment's whole text joined at once cost Daniel 1,688 large-object mappings, 1.5 GiB, at
 * full ingest of the bench's 2M lines), and their UTF-8 bytes in all.
 */
export interface LinesText {
  pieces: string[];
  /** Or, when every line's text is still in its request body, the lines, copied from there. */
  bodyLines?: readonly BodyLine[];
  bytes: number;
  /** Whether every character is ASCII (a byte each). */
  ascii: boolean;
}

/** `lines`' text (each followed by \n) in pieces, to be written with writeLinesText. */
export function linesText(lines: readonly { line: string }[]): LinesText {
  const bodyLines = asBodyLines(lines);
  if (bodyLines !== undefined) {
    let bytes = 0;
    let ascii = true;
    for (const line of bodyLines) {
      bytes += line.bytes + 1;
      if (!line.ascii) ascii = false;
    }
    return { pieces: [], bodyLines, bytes, ascii };
  }
  const pieces: string[] = [];
  let bytes = 0;
  let chars = 0;
  let piece = '';
  const close = (): void => {
    pieces.push(piece);
    bytes += Buffer.byteLength(piece, 'utf8');
    chars += piece.length;
    piece = '';
  };
  for (const line of lines) {
    piece += line.line + '\n';
    if (piece.length >= JOINED_STRING_CHARS) close();
  }
  if (piece.length > 0) close();
  return { pieces, bytes, ascii: bytes === chars };
}

/** Writes `text` into `buffer` from `at` (which has room for its bytes); returns where it ends. */
export function writeLinesText(text: LinesText, buffer: Buffer, at: number): number {
  if (text.bodyLines !== undefined) return writeBodyLines(text.bodyLines, buffer, at);
  for (const piece of text.pieces) at += buffer.write(piece, at, text.ascii ? 'latin1' : 'utf8');
  return at;
}

/**
 * Body lines' text, each followed by \n, written from `at`; returns where it ends. Lines that
 * lie end to end in one body (a group's lines do) are copied in one piece to the end of the
 * room they take, then each is moved down to its place (copyWithin: Buffer.copy makes a view
 * for every call, about twice the time a line).
 */
function writeBodyLines(lines: readonly BodyLine[], buffer: Buffer, at: number): number {
  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    let end = first.start + first.bytes;
    let j = i + 1;
    while (j < lines.length && lines[j]!.body === first.body && lines[j]!.start === end) end += lines[j++]!.bytes;
    // The run's bytes land after room for its newlines: every line then moves down, never onto one not yet moved.
    const from = at + (j - i) - first.start;
    first.body.copy(buffer, from + first.start, first.start, end);
    for (; i < j; i++) {
      const line = lines[i]!;
      const source = from + line.start;
      buffer.copyWithin(at, source, source + line.bytes);
      at += line.bytes;
      buffer[at++] = 0x0a;
    }
  }
  return at;
}

/** `lines` as body lines when every one is (their text copied from the bodies, not decoded). */
function asBodyLines(lines: readonly { line: string }[]): readonly BodyLine[] | undefined {
  for (const line of lines) if (!(line instanceof BodyLine)) return undefined;
  return lines.length > 0 ? (lines as readonly BodyLine[]) : undefined;
}

/** A line's UTF-8 bytes (a string's length when its run is all ASCII). */
function textBytesOf(line: { line: string }, ascii: boolean): number {
  if (line instanceof BodyLine) return line.bytes;
  return ascii ? line.line.length : Buffer.byteLength(line.line);
}

/** The text of `lines` (each followed by \n), as encodeSegment lays it out. */
export function segmentText(lines: readonly { line: string }[]): Buffer {
  const text = linesText(lines);
  const buffer = Buffer.allocUnsafe(text.bytes);
  writeLinesText(text, buffer, 0);
  return buffer;
}

/** What PreparedText holds, from a run's text (lines without fields: their bloom is the text's alone). */
export function prepareText(text: Buffer, lineCount: number, ascii: boolean): PreparedText {
  return { lineCount, textBytes: text.length, ascii, bloom: buildTrigramBloom(text, BLOOM_FORMAT), packed: compressText(text) };
}

/**
 * Encodes lines (ascending offsets, one file identity) into a blob and its bloom. With
 * `prepared` (their text's bloom and compressed frame, made ahead), only the columns are written
 * here, when it is the text of exactly these lines; otherwise it is ignored.
 */
/** The columns of `lines` after the payload's header, and the range of their timestamps. */
function writeColumns(lines: readonly SegmentLine[], ascii: boolean): { columns: ByteWriter; minTimestamp: bigint; maxTimestamp: bigint } {
  const writer = new ByteWriter();
  const textBytes = lines.map((l) => textBytesOf(l, ascii));
  let minTimestamp = lines[0]!.timestamp;
  let maxTimestamp = minTimestamp;
  lines.forEach((line, i) => {
    if (i === 0) writer.varint(line.offset);
    else writer.zigzag(line.offset - lines[i - 1]!.end);
  });
  lines.forEach((line, i) => writer.zigzag(line.end - line.offset - textBytes[i]! - 1));
  for (const bytes of textBytes) writer.varint(bytes);
  lines.forEach((line, i) => {
    if (line.timestamp < minTimestamp) minTimestamp = line.timestamp;
    if (line.timestamp > maxTimestamp) maxTimestamp = line.timestamp;
    if (i === 0) return writer.int64(line.timestamp);
    const delta = Number(line.timestamp - lines[i - 1]!.timestamp);
    if (Math.abs(delta) < BIG_DELTA) return writer.zigzag(delta);
    writer.varint(BIG_DELTA_MARKER);
    writer.int64(line.timestamp);
  });
  lines.forEach((line, i) => writer.varint(i === 0 ? line.seq : line.seq - lines[i - 1]!.seq));
  for (const line of lines) writer.byte(line.cut ? 1 : 0);
  return { columns: writer, minTimestamp, maxTimestamp };
}

/** The payload's header: its version, the line count, the columns' size (and the fields' column's). */
function payloadHeader(lineCount: number, columnBytes: number, fields: { column: Buffer } | undefined): Buffer {
  const header = new ByteWriter();
  header.byte(fields === undefined ? VERSION : VERSION_WITH_FIELDS);
  header.varint(lineCount);
  if (fields === undefined) {
    header.varint(columnBytes);
  } else {
    header.varint(columnBytes + fields.column.length);
    header.varint(fields.column.length);
  }
  return header.bytes();
}

/** What a payload holds beside its bytes: its text (for the bloom), the stored fields' values, and the timestamps' range. */
interface WholePayload {
  payload: Buffer;
  text: Buffer;
  ascii: boolean;
  fieldValues: string | undefined;
  minTimestamp: bigint;
  maxTimestamp: bigint;
}

/** The uncompressed payload of `lines`: header, fields column (when any line has fields), columns, text. */
function wholePayload(lines: readonly SegmentLine[]): WholePayload {
  const joined = linesText(lines);
  const text = Buffer.allocUnsafe(joined.bytes);
  writeLinesText(joined, text, 0);
  const { columns, minTimestamp, maxTimestamp } = writeColumns(lines, joined.ascii);
  const fields = writeFields(lines);
  const header = payloadHeader(lines.length, columns.length, fields);
  const payload = Buffer.concat(fields === undefined ? [header, columns.bytes(), text] : [header, fields.column, columns.bytes(), text]);
  return { payload, text, ascii: joined.ascii, fieldValues: fields?.values, minTimestamp, maxTimestamp };
}

/**
 * The uncompressed payload of `lines` (what a blob decompresses to), read by parsePayload: a
 * segment cut down to a query's matches is handed around in this form (segment-filter.ts).
 */
export function encodePayload(lines: readonly SegmentLine[]): Buffer {
  if (lines.length === 0) throw new Error('A segment holds at least one line.');
  return wholePayload(lines).payload;
}

export function encodeSegment(lines: readonly SegmentLine[], prepared?: PreparedText): EncodedSegment {
  if (lines.length === 0) throw new Error('A segment holds at least one line.');
  const first = lines[0]!;
  const last = lines[lines.length - 1]!;
  const stats = (ascii: boolean, textBytes: number, minTimestamp: bigint, maxTimestamp: bigint): SegmentStats => ({
    lineCount: lines.length,
    rawBytes: textBytes - lines.length,
    ascii,
    firstOffset: first.offset,
    endOffset: last.end,
    minTimestamp,
    maxTimestamp,
    minSeq: first.seq,
    maxSeq: last.seq,
  });
  if (prepared !== undefined && preparedFits(lines, prepared)) {
    // The text is compressed already: only the columns' frame is written here.
    const { columns, minTimestamp, maxTimestamp } = writeColumns(lines, prepared.ascii);
    const head = Buffer.concat([payloadHeader(lines.length, columns.length, undefined), columns.bytes()]);
    return {
      data: compressPayloadAround(head, prepared.packed, prepared.textBytes),
      bloom: prepared.bloom,
      ...stats(prepared.ascii, prepared.textBytes, minTimestamp, maxTimestamp),
    };
  }
  const whole = wholePayload(lines);
  return {
    data: compressPayload(whole.payload),
    // The names and values of stored fields are in the bloom too: a field term's name and value rule segments out by it (query-match.ts).
    bloom: buildTrigramBloom(whole.fieldValues === undefined ? whole.text : Buffer.concat([whole.text, Buffer.from(whole.fieldValues)]), BLOOM_FORMAT),
    ...stats(whole.ascii, whole.text.length, whole.minTimestamp, whole.maxTimestamp),
  };
}

/**
 * Whether `prepared` is the text of exactly `lines`: no line carries fields (their values
 * would belong in the bloom), and the count and the text's length agree. The caller
 * prepared it from a run of these same lines (encode-pool.ts keys it by the run's first
 * offset), so the count and length rule out a run cut differently.
 */
function preparedFits(lines: readonly SegmentLine[], prepared: PreparedText): boolean {
  if (lines.length !== prepared.lineCount) return false;
  let bytes = 0;
  for (const line of lines) {
    if (line.fields !== undefined) return false;
    bytes += textBytesOf(line, prepared.ascii) + 1;
  }
  return bytes === prepared.textBytes;
}

export function decodeSegment(data: Buffer): DecodedSegment {
  return parsePayload(decompressPayload(data));
}

/** decodeSegment with the decompression off the main thread where the codec allows (compression.ts; the payload is parsed on it). */
export async function decodeSegmentAsync(data: Buffer): Promise<DecodedSegment> {
  return parsePayload(await decompressPayloadAsync(data));
}

interface ColumnsHeader {
  count: number;
  /** Where the field column (version 3) or else the line columns start. */
  at: number;
  /** Bytes of every column, the field column included: the text follows them. */
  columnBytes: number;
  /** Bytes of the field column; undefined in version 2 (no fields). */
  fieldBytes: number | undefined;
}

/** The header of a version 2 or 3 payload; undefined for version 1, whose columns must be parsed to find the text. */
function columnsHeader(payload: Buffer): ColumnsHeader | undefined {
  const reader = new ByteReader(payload);
  const version = reader.byte();
  if (version !== VERSION && version !== VERSION_WITH_FIELDS) return undefined;
  const count = reader.varint();
  const columnBytes = reader.varint();
  const fieldBytes = version === VERSION_WITH_FIELDS ? reader.varint() : undefined;
  return { count, at: reader.position, columnBytes, fieldBytes };
}

type PayloadText = { count: number; text: Buffer; fieldsAt?: (i: number) => Record<string, string> | undefined };

function textAfter(payload: Buffer, { count, at, columnBytes, fieldBytes }: ColumnsHeader): PayloadText {
  const text = payload.subarray(at + columnBytes);
  if (fieldBytes === undefined) return { count, text };
  return { count, text, fieldsAt: fieldsReader(payload.subarray(at, at + fieldBytes), count) };
}

/** A decompressed payload's line count and text, without parsing the columns (version 1: parsing them). */
export function payloadText(payload: Buffer): PayloadText {
  const header = columnsHeader(payload);
  if (header === undefined) {
    const { count, text } = parsePayload(payload);
    return { count, text };
  }
  return textAfter(payload, header);
}

/** Where a decompressed payload's text starts (its columns before it): the text is always the payload's end. */
export function payloadTextStart(payload: Buffer): number {
  return payload.length - payloadText(payload).text.length;
}

/** The text (as payloadText) and each line's timestamp, without the other columns (the field statistics' indexer). */
export function payloadTextAndTimes(payload: Buffer): PayloadText & { timestamps: BigInt64Array } {
  const header = columnsHeader(payload);
  if (header === undefined) {
    const { count, text, timestamps } = parsePayload(payload);
    return { count, text, timestamps };
  }
  const reader = new ByteReader(payload);
  reader.position = header.at + (header.fieldBytes ?? 0);
  // Offsets, end slacks and lengths come first: stepped over.
  for (let i = 0; i < 3 * header.count; i++) reader.varint();
  const timestamps = new BigInt64Array(header.count);
  readTimestamps(reader, timestamps);
  return { ...textAfter(payload, header), timestamps };
}

const TWO_32 = 2 ** 32;
/** Past this the running delta is folded into the base, so it stays exact (each delta is under 2^51). */
const REBASE_AT = 2 ** 52;
const LITTLE_ENDIAN = new Uint8Array(new BigUint64Array([1n]).buffer)[0] === 1;

/**
 * The timestamp column: the first as i64, then zigzag deltas (or the marker and an i64). A
 * BigInt per line made this most of a segment's parse time, so the values are written as two
 * 32-bit words each: a base (the last i64 read) plus the running sum of deltas, a double that
 * stays exact below 2^53, with the carry done by hand (wrapping mod 2^64 as BigInt64Array does).
 */
function readTimestamps(reader: ByteReader, timestamps: BigInt64Array): void {
  const count = timestamps.length;
  if (count === 0) return;
  if (!LITTLE_ENDIAN) {
    timestamps[0] = reader.int64();
    for (let i = 1; i < count; i++) {
      const delta = reader.varint();
      timestamps[i] = delta === BIG_DELTA_MARKER ? reader.int64() : timestamps[i - 1]! + BigInt(delta % 2 === 0 ? delta / 2 : -(delta + 1) / 2);
    }
    return;
  }
  const words = new Uint32Array(timestamps.buffer, timestamps.byteOffset, count * 2);
  timestamps[0] = reader.int64();
  let baseLo = words[0]!;
  let baseHi = words[1]!;
  let sum = 0;
  for (let i = 1; i < count; i++) {
    const delta = reader.varint();
    if (delta === BIG_DELTA_MARKER) {
      timestamps[i] = reader.int64();
      baseLo = words[2 * i]!;
      baseHi = words[2 * i + 1]!;
      sum = 0;
      continue;
    }
    sum += delta % 2 === 0 ? delta / 2 : -(delta + 1) / 2;
    const sumHi = Math.floor(sum / TWO_32);
    let lo = baseLo + (sum - sumHi * TWO_32);
    let carry = 0;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      carry = 1;
    }
    const hi = (baseHi + sumHi + carry) >>> 0;
    words[2 * i] = lo;
    words[2 * i + 1] = hi;
    if (sum >= REBASE_AT || sum <= -REBASE_AT) {
      baseLo = lo;
      baseHi = hi;
      sum = 0;
    }
  }
}

/** Every column of a decompressed payload. */
export function parsePayload(payload: Buffer): DecodedSegment {
  const reader = new ByteReader(payload);
  const version = reader.byte();
  if (version !== VERSION && version !== VERSION_WITH_FIELDS && version !== VERSION_WITHOUT_COLUMN_BYTES) throw new Error('Unknown segment blob version.');
  const count = reader.varint();
  if (version !== VERSION_WITHOUT_COLUMN_BYTES) reader.varint(); // the column bytes: not needed when reading every column
  let fieldsAt: DecodedSegment['fieldsAt'];
  if (version === VERSION_WITH_FIELDS) {
    const fieldBytes = reader.varint();
    fieldsAt = fieldsReader(payload.subarray(reader.position, reader.position + fieldBytes), count);
    reader.position += fieldBytes;
  }
  const offsets = new Float64Array(count);
  const ends = new Float64Array(count);
  const lengths = new Int32Array(count);
  const starts = new Int32Array(count);
  const timestamps = new BigInt64Array(count);
  const seqs = new Float64Array(count);
  const cuts = new Uint8Array(count);
  const endSlack = new Float64Array(count);
  for (let i = 0; i < count; i++) offsets[i] = i === 0 ? reader.varint() : reader.zigzag(); // gaps for now
  for (let i = 0; i < count; i++) endSlack[i] = reader.zigzag();
  let start = 0;
  for (let i = 0; i < count; i++) {
    lengths[i] = reader.varint();
    starts[i] = start;
    start += lengths[i]! + 1;
  }
  for (let i = 0; i < count; i++) {
    offsets[i] = i === 0 ? offsets[0]! : ends[i - 1]! + offsets[i]!;
    ends[i] = offsets[i]! + lengths[i]! + 1 + endSlack[i]!;
  }
  readTimestamps(reader, timestamps);
  for (let i = 0; i < count; i++) seqs[i] = i === 0 ? reader.varint() : seqs[i - 1]! + reader.varint();
  for (let i = 0; i < count; i++) cuts[i] = reader.byte();
  const text = payload.subarray(reader.position);
  if (text.length !== start) throw new Error('Segment blob text does not match its lengths.');
  const decoded: DecodedSegment = { count, offsets, ends, timestamps, seqs, cuts, starts, lengths, text };
  if (fieldsAt !== undefined) decoded.fieldsAt = fieldsAt;
  return decoded;
}

/** Decodes every line of a blob (compaction and tests; queries read only the lines they need). */
export function segmentLines(segment: DecodedSegment): SegmentLine[] {
  const lines: SegmentLine[] = [];
  for (let i = 0; i < segment.count; i++) lines.push(lineAt(segment, i));
  return lines;
}

export function lineAt(segment: DecodedSegment, i: number): SegmentLine {
  const line: SegmentLine = {
    offset: segment.offsets[i]!,
    end: segment.ends[i]!,
    timestamp: segment.timestamps[i]!,
    line: segment.text.toString('utf8', segment.starts[i], segment.starts[i]! + segment.lengths[i]!),
    cut: segment.cuts[i] === 1,
    seq: segment.seqs[i]!,
  };
  const fields = segment.fieldsAt?.(i);
  if (fields !== undefined) line.fields = fields;
  return line;
}
