/**
 * The binary form of an ingest request (`Content-Type: application/vnd.logging-aggregator.batch`):
 * the same request as the JSON body (host, file groups, lines), written so that neither side
 * escapes, parses or converts a line's text. Henrik writes it for file batches; Daniel reads it
 * into the same checked groups as a JSON body (ingest-check.ts), with the same refusals.
 *
 * Why: at full ingest, writing and reading JSON was a third of Henrik's CPU (escaping every `"`
 * of a JSON log line byte by byte) and the largest single cost of Daniel's main thread
 * (JSON.parse, then a timestamp string parsed to a number per line). docs/agent.md *Performance*
 * has the figures.
 *
 * Layout, after any Content-Encoding is taken off (varints are LEB128 of at most 8 bytes, within
 * 2^53; zigzag maps n to 2n and -n to 2n-1; a string is a varint of bytes then its UTF-8):
 *
 *   0x00 0x4C 0x41 0x01     magic: NUL "LA" and the version, 1 (a JSON body never starts with NUL)
 *   u32 LE T                bytes of the text section
 *   T bytes                 the text section: every line's text, UTF-8, back to back, in order
 *   string host             then the columns, to the end of the body:
 *   per file group: 0x01, string file_id, string filename, string path,
 *                   varint label count, that many (string name, string value),
 *                   per line: a flags byte (below 0x20), then
 *                     zigzag varint  offset - (the group's previous line's end, or 0)
 *                     varint         bytes of its text in the text section
 *                     [flags & 2]    varint end - offset (else end = offset + bytes + 1)
 *                     [flags & 4]    i64 LE timestamp, ns
 *                     [flags & 16]   zigzag varint: timestamp - the body's previous line's timestamp
 *                                    (with neither, the previous line's timestamp; the first line has 4)
 *                     [flags & 8]    varint field count, that many (string name, string value)
 *                     (flags & 1: the line is a cut piece)
 *                   0xFE, then varint size + 1 (0: no size)
 *   0x00                    the end: the last byte of the body
 *
 * A body that breaks the layout is refused whole (INVALID_BODY, naming the byte); a group or
 * line that breaks the ingest rules is refused alone, as in JSON.
 */
import type { IngestFile, IngestLine, IngestRejection, IngestRequest } from './ingest.js';
import type { CheckedFiles, CheckedGroup, CheckedLine } from './ingest-check.js';
import { ByteReader, JOINED_STRING_CHARS } from './bytes.js';
import { endProblem, groupNameProblem, lineFields, lineName, orderProblem } from './ingest-rules.js';
import { INT64_MAX, INT64_MIN } from './names.js';
import { asciiRange, BodyLine } from './body-line.js';
import { isAscii, isUtf8 } from 'node:buffer';

export const BINARY_BATCH_TYPE = 'application/vnd.logging-aggregator.batch';
const MAGIC = [0x00, 0x4c, 0x41, 0x01] as const;
const HEAD_BYTES = 8;
const GROUP = 0x01;
const END = 0x00;
const END_OF_LINES = 0xfe;
const CUT = 1;
const HAS_END = 2;
const HAS_TIME = 4;
const HAS_FIELDS = 8;
const HAS_TIME_STEP = 16;
const LINE_FLAGS = 0x20;
/** A timestamp step past this (ns, about 52 days) goes as the full i64: the step stays a safe integer. */
const MAX_TIME_STEP = 2n ** 52n;
const MIN_TIME_STEP = -MAX_TIME_STEP;
const MAX_VARINT_BYTES = 8;
/** ASCII lines joined before they are copied (or JOINED_STRING_CHARS of them): bounds the joined string's depth (a string of strings). */
const PENDING_LINES = 1024;

/** Whether decompressed body bytes are a binary batch (rather than JSON). */
export function isBinaryBatch(bytes: Uint8Array): boolean {
  return bytes.length >= HEAD_BYTES && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2];
}

/** Node's own per-encoding writers and readers (Buffer.prototype): `write()`/`toString()` minus their argument juggling. */
interface DirectBuffer extends Buffer {
  utf8Write(text: string, offset: number): number;
  latin1Write(text: string, offset: number): number;
  utf8Slice(start: number, end: number): string;
}

/**
 * Writes one binary batch as lines arrive: the text straight into `textBuffer` (a pooled
 * buffer, after room for the head), the columns into a buffer of their own, joined at finish.
 * The columns are the encoding of bytes.ts written by hand rather than through ByteWriter (one
 * room check a line and a one-byte path for the offset step, on Henrik's hottest loop).
 */
export class BinaryBatchWriter {
  private text: DirectBuffer;
  private at = HEAD_BYTES;
  private columns: DirectBuffer;
  private col = 0;
  private lastTimestamp: bigint | undefined;
  private previousEnd = 0;
  /** ASCII lines' text not yet in the text buffer: joined here, copied with one call (see line()). */
  private pending = '';
  private pendingLines = 0;

  /** `columns` is scratch the writer may keep using (one writer at a time); `textBuffer` holds the finished body. */
  constructor(textBuffer: Buffer, columns: Buffer, host: string) {
    this.text = textBuffer as DirectBuffer;
    this.columns = columns as DirectBuffer;
    this.string(host);
  }

  /** The buffer the finished body is in (to hand back to its pool once nothing reads it). */
  get storage(): Buffer {
    return this.text;
  }

  /** Bytes of the body so far. */
  get length(): number {
    return this.at + this.pending.length + this.col + 1;
  }

  startGroup(fileId: string, filename: string, path: string, labels?: Readonly<Record<string, string>>): void {
    this.reserveColumns(16);
    this.columns[this.col++] = GROUP;
    this.string(fileId);
    this.string(filename);
    this.string(path);
    this.pairs(labels);
    this.previousEnd = 0;
  }

  /**
   * `ascii`: the caller knows the text is ASCII (a character a byte). Such lines are joined
   * into one string and copied into the body with one call when another kind of line comes,
   * every PENDING_LINES lines, or at finish: a call into the runtime per line cost more
   * than the copy itself (Henrik on the agent bench's 2M lines, one core: 3.77 against 3.87
   * CPU-seconds, four runs each, alternating).
   */
  line(offset: number, end: number, timestamp: bigint, text: string, cut: boolean, fields?: Readonly<Record<string, string>>, ascii = false): void {
    let bytes: number;
    if (ascii) {
      this.pending += text;
      bytes = text.length;
      if (++this.pendingLines === PENDING_LINES || this.pending.length >= JOINED_STRING_CHARS) this.writePending();
    } else {
      if (this.pendingLines > 0) this.writePending();
      // UTF-8 takes at most 3 bytes per UTF-16 unit.
      this.reserveText(text.length * 3);
      // One native call: on these lines twice as fast as testing for ASCII to write it as latin1.
      bytes = this.text.utf8Write(text, this.at);
      this.at += bytes;
    }
    this.reserveColumns(40);
    const c = this.columns;
    const flagsAt = this.col++;
    let flags = cut ? CUT : 0;
    const delta = offset - this.previousEnd;
    // Most lines follow the one before (a delta of 0): one byte, without the call.
    const zig = delta >= 0 ? delta * 2 : -delta * 2 - 1;
    if (zig < 0x80) c[this.col++] = zig;
    else this.varint(zig);
    this.varint(bytes);
    if (end !== offset + bytes + 1) {
      flags |= HAS_END;
      // An end not past the offset (never Henrik's) goes as the offset itself: Daniel refuses the line either way.
      this.varint(Math.max(0, end - offset));
    }
    const last = this.lastTimestamp;
    if (timestamp !== last) {
      const step = last === undefined ? MAX_TIME_STEP : timestamp - last;
      if (step < MAX_TIME_STEP && step > MIN_TIME_STEP) {
        // A step costs the reader two numbers to make, the full value four.
        flags |= HAS_TIME_STEP;
        const n = Number(step);
        this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
      } else {
        flags |= HAS_TIME;
        c.writeBigInt64LE(timestamp, this.col);
        this.col += 8;
      }
      this.lastTimestamp = timestamp;
    }
    if (fields !== undefined) {
      flags |= HAS_FIELDS;
      this.pairs(fields);
    }
    // Not `c`: the fields may have grown the columns into a new buffer.
    this.columns[flagsAt] = flags;
    this.previousEnd = end;
  }

  endGroup(size: number | undefined): void {
    this.reserveColumns(16);
    this.columns[this.col++] = END_OF_LINES;
    this.varint(size === undefined ? 0 : size + 1);
  }

  /** The whole body, in the text buffer (grown into a new one if it does not fit). */
  finish(): Buffer {
    if (this.pendingLines > 0) this.writePending();
    this.reserveColumns(1);
    this.columns[this.col++] = END;
    const total = this.at + this.col;
    if (total > this.text.length) {
      const grown = Buffer.allocUnsafe(total) as DirectBuffer;
      this.text.copy(grown, 0, 0, this.at);
      this.text = grown;
    }
    const b = this.text;
    for (let i = 0; i < MAGIC.length; i++) b[i] = MAGIC[i]!;
    b.writeUInt32LE(this.at - HEAD_BYTES, 4);
    this.columns.copy(b, this.at, 0, this.col);
    return b.subarray(0, total);
  }

  /** Copies the joined ASCII lines into the text buffer (latin1 writes each character as its byte). */
  private writePending(): void {
    const text = this.pending;
    this.reserveText(text.length);
    this.at += this.text.latin1Write(text, this.at);
    this.pending = '';
    this.pendingLines = 0;
  }

  private string(text: string): void {
    const bytes = Buffer.byteLength(text, 'utf8');
    this.reserveColumns(bytes + MAX_VARINT_BYTES);
    this.varint(bytes);
    this.col += this.columns.utf8Write(text, this.col);
  }

  private pairs(fields: Readonly<Record<string, string>> | undefined): void {
    const entries = fields === undefined ? [] : Object.entries(fields);
    this.reserveColumns(MAX_VARINT_BYTES);
    this.varint(entries.length);
    for (const [name, value] of entries) {
      this.string(name);
      this.string(value);
    }
  }

  private varint(value: number): void {
    const c = this.columns;
    let at = this.col;
    while (value >= 0x80) {
      c[at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    c[at++] = value;
    this.col = at;
  }

  private reserveText(bytes: number): void {
    // Room for the columns' copy is made at finish.
    if (this.at + bytes <= this.text.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.text.length * 2, this.at + bytes)) as DirectBuffer;
    this.text.copy(grown, 0, 0, this.at);
    this.text = grown;
  }

  private reserveColumns(bytes: number): void {
    if (this.col + bytes <= this.columns.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.columns.length * 2, this.col + bytes)) as DirectBuffer;
    this.columns.copy(grown, 0, 0, this.col);
    this.columns = grown;
  }
}

/** A body that breaks the layout: refused whole. */
export class BinaryBatchError extends Error {}

/** What a binary batch holds, checked: the host, and groups and lines as checkIngestFiles gives them for JSON. */
export interface CheckedBinaryBatch extends CheckedFiles {
  host: string;
  /** Groups read, refused ones included. */
  groupCount: number;
  /** Read unchecked only: each group's labels, not merged into its lines' fields. */
  labels?: Map<CheckedGroup, Record<string, string>>;
}

/**
 * Reads and checks a binary batch. Throws BinaryBatchError when the layout is broken; a group
 * or line that breaks the ingest rules is named in `rejected` with the message the JSON body
 * would get, and the rest is returned.
 */
export function checkBinaryBatch(body: Buffer): CheckedBinaryBatch {
  return readBinaryBatch(body, true);
}

/** `check` false: every group and line as written, none refused (for Henrik, reading back its own). */
function readBinaryBatch(body: Buffer, check: boolean): CheckedBinaryBatch {
  if (!isBinaryBatch(body) || body[3] !== MAGIC[3]) throw new BinaryBatchError(`The body is not a binary batch of version ${MAGIC[3]}`);
  const b = body as DirectBuffer;
  const textBytes = b.readUInt32LE(4);
  const textEnd = HEAD_BYTES + textBytes;
  if (textEnd > b.length) throw new BinaryBatchError(`The body's text section (${textBytes} bytes) runs past its end (${b.length} bytes)`);
  // One check of the whole section: valid UTF-8 is read as it is, and a line's UTF-8 length is its byte count.
  const section = b.subarray(HEAD_BYTES, textEnd);
  const ascii = isAscii(section);
  const valid = ascii || isUtf8(section);
  const broken = (what: string): BinaryBatchError => new BinaryBatchError(`The binary batch is broken at byte ${r.position}: ${what}`);
  const r = new ByteReader(b, () => broken('it ends early'));
  r.position = textEnd;
  let textAt = HEAD_BYTES;

  /** A varint that counts or measures something: within 2^53. */
  const count = (): number => {
    const value = r.varint();
    if (!Number.isSafeInteger(value)) throw broken('a number is past 2^53');
    return value;
  };
  const pairs = (): Record<string, string> | undefined => {
    const n = count();
    if (n === 0) return undefined;
    const out: [string, string][] = [];
    for (let i = 0; i < n; i++) out.push([r.string(), r.string()]);
    // Built as own properties (a name such as __proto__ is a field like any other).
    return Object.fromEntries(out);
  };

  const host = r.string();
  const groups: CheckedGroup[] = [];
  const rejected: IngestRejection[] = [];
  const lastEnd = new Map<string, number>();
  let timestamp: bigint | undefined;
  let index = 0;
  const groupLabels = new Map<CheckedGroup, Record<string, string>>();
  for (let tag = r.byte(); tag !== END; tag = r.byte(), index++) {
    if (tag !== GROUP) throw broken(`a file group starts with ${tag}`);
    const at = `files[${index}]`;
    const fileId = r.string();
    const filename = r.string();
    const path = r.string();
    const labels = pairs();
    const nameIssue = check ? groupNameProblem(at, fileId, filename, path) : undefined;
    let refusal = nameIssue === undefined ? undefined : { code: 'INVALID_NAME', message: nameIssue };
    const group: CheckedGroup = { index, fileId, filename, path, lines: [] };
    const lineRejections: IngestRejection[] = [];
    let previousEnd = lastEnd.get(fileId) ?? -1;
    let groupEnd = 0;
    let lineIndex = 0;
    for (let flags = r.byte(); flags !== END_OF_LINES; flags = r.byte(), lineIndex++) {
      if (flags >= LINE_FLAGS || (flags & (HAS_TIME | HAS_TIME_STEP)) === (HAS_TIME | HAS_TIME_STEP)) throw broken(`a line's flags are ${flags}`);
      const zig = count();
      const offset = groupEnd + (zig % 2 === 0 ? zig / 2 : -(zig + 1) / 2);
      const bytes = count();
      if (textAt + bytes > textEnd) throw broken("a line's text runs past the text section");
      const endGiven = (flags & HAS_END) !== 0;
      const end = endGiven ? offset + count() : offset + bytes + 1;
      if ((flags & HAS_TIME) !== 0) {
        timestamp = r.int64();
      } else if (timestamp === undefined) {
        throw broken('the first line has no timestamp');
      } else if ((flags & HAS_TIME_STEP) !== 0) {
        const step = count();
        const next = timestamp + BigInt(step % 2 === 0 ? step / 2 : -(step + 1) / 2);
        if (next > INT64_MAX || next < INT64_MIN) throw broken('a timestamp steps past 64 bits');
        timestamp = next;
      }
      const own = (flags & HAS_FIELDS) !== 0 ? pairs() : undefined;
      const textStart = textAt;
      textAt += bytes;
      groupEnd = end;
      if (refusal !== undefined) continue;
      if (!check) {
        group.lines.push(lineOf(b, valid, ascii, textStart, bytes, offset, end, endGiven, timestamp, flags, own));
        continue;
      }
      if (!Number.isSafeInteger(offset) || offset < 0) {
        refusal = { code: 'INVALID_BODY', message: `Body field ${lineName(at, lineIndex)}.offset must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}` };
        continue;
      }
      const problem = orderProblem(at, lineIndex, offset, previousEnd) ?? endProblem(at, lineIndex, offset, end);
      if (problem !== undefined) {
        lineRejections.push({ file: index, file_id: fileId, offset, code: 'INVALID_BODY', message: problem });
        continue;
      }
      const checked = lineOf(b, valid, ascii, textStart, bytes, offset, end, endGiven, timestamp, flags, lineFields(labels, own));
      group.lines.push(checked);
      previousEnd = checked.end;
    }
    const size = count();
    if (refusal !== undefined) {
      rejected.push({ file: index, file_id: fileId, ...refusal });
      continue;
    }
    if (size > 0) group.size = size - 1;
    if (!check && labels !== undefined) groupLabels.set(group, labels);
    rejected.push(...lineRejections);
    lastEnd.set(fileId, previousEnd);
    groups.push(group);
  }
  if (r.position !== b.length) throw broken(`${b.length - r.position} bytes follow its end`);
  if (textAt !== textEnd) throw broken(`${textEnd - textAt} bytes of the text section belong to no line`);
  return { host, groups, rejected, groupCount: index, ...(check ? {} : { labels: groupLabels }) };
}

function lineOf(
  b: DirectBuffer,
  valid: boolean,
  ascii: boolean,
  start: number,
  bytes: number,
  offset: number,
  end: number,
  endGiven: boolean,
  timestamp: bigint,
  flags: number,
  fields: Record<string, string> | undefined,
): CheckedLine {
  const cut = (flags & CUT) !== 0;
  if (valid) {
    // The text stays in the body, decoded only if read (body-line.ts).
    const line = new BodyLine(b, start, bytes, ascii || asciiRange(b, start, start + bytes), offset, endGiven ? end : offset + bytes + 1, timestamp, cut);
    if (fields !== undefined) line.fields = fields;
    return line;
  }
  const text = b.toString('utf8', start, start + bytes);
  // Invalid UTF-8 was replaced (U+FFFD): the line's bytes are those of what is stored, as a JSON body's would be.
  const lineBytes = Buffer.byteLength(text, 'utf8');
  const line: CheckedLine = { offset, end: endGiven ? end : offset + lineBytes + 1, timestamp, line: text, cut, bytes: lineBytes };
  if (fields !== undefined) line.fields = fields;
  return line;
}

/**
 * A binary batch as the JSON request it stands for (Henrik: to split one, dead-letter one,
 * or send one to a Daniel that reads only JSON). Throws BinaryBatchError when it is broken.
 */
export function binaryBatchToRequest(body: Buffer): IngestRequest {
  const checked = readBinaryBatch(body, false);
  const files: IngestFile[] = checked.groups.map((group) => {
    const file: IngestFile = { file_id: group.fileId, filename: group.filename, path: group.path, lines: [] };
    if (group.size !== undefined) file.size = group.size;
    const labels = checked.labels?.get(group);
    if (labels !== undefined) file.labels = labels;
    file.lines = group.lines.map((line) => {
      const out: IngestLine = { offset: line.offset, end: line.end, timestamp: line.timestamp.toString(), line: line.line };
      if (line.cut) out.cut = true;
      if (line.fields !== undefined) out.fields = line.fields;
      return out;
    });
    return file;
  });
  return { host: checked.host, files };
}
