/**
 * Bytes -> lines, as SPEC.md "What a line becomes" defines them: split on `\n`, a trailing
 * `\r` dropped, invalid UTF-8 decoded as U+FFFD, a last line without `\n` held until it is
 * completed, and a line longer than the limit cut into pieces (every piece kept, all but the
 * last marked `cut`). Memory stays bounded: at most `maxLineBytes` of an unfinished line is held.
 */
import { isAscii } from 'node:buffer';

export interface RawLine {
  /** Byte offset of the first byte (per file identity). */
  offset: number;
  /** Byte offset just after the line, its `\r\n`/`\n` included. */
  end: number;
  text: string;
  /** True when the next line continues this one (a piece of an over-long line). */
  cut: boolean;
  /** True when the text is known to be ASCII (a character a byte): a writer may copy it without encoding it. */
  ascii?: boolean;
}

export type LineSink = (line: RawLine) => void;

/** Node's own decoders on Buffer.prototype (undocumented, there since v0.x): `toString()` minus its argument checks. */
type DecodableBuffer = Buffer & { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

function decode(data: Buffer, start: number, end: number): string {
  return (data as DecodableBuffer).utf8Slice(start, end);
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** Complete lines shorter than this in all are split one by one: the run's ASCII check and one decode are not worth it. */
const MIN_RUN_BYTES = 4096;
/**
 * A run is decoded in strings of about this many characters, each ending at a newline. V8
 * gives a string over 128 KiB a mapping of its own, mapped and unmapped again for every read
 * chunk: page faults that cost Henrik more system time than the decode saves (see emitAsciiRun).
 */
const RUN_STRING_CHARS = 64 * 1024;

export class LineSplitter {
  private carry: Buffer | undefined;
  private carryOffset = 0;

  /**
   * `minRunBytes`: whole lines a chunk must hold to be split from decoded strings (Infinity:
   * never; tests compare both ways); `runStringChars`: about how long each such string is.
   */
  constructor(
    private readonly maxLineBytes: number,
    private readonly minRunBytes = MIN_RUN_BYTES,
    private readonly runStringChars = RUN_STRING_CHARS,
  ) {
    if (maxLineBytes < 4) throw new RangeError('maxLineBytes must be at least 4');
  }

  /** Offset of the first byte not yet emitted as (part of) a line: where a restart resumes. */
  get consumedOffset(): number {
    return this.carryOffset;
  }

  /** Bytes of the unfinished last line being held. */
  get heldBytes(): number {
    return this.carry?.length ?? 0;
  }

  /** Forgets any held bytes and starts at `offset` (a new identity, or a resume point). */
  reset(offset: number): void {
    this.carry = undefined;
    this.carryOffset = offset;
  }

  /** Feeds `chunk`, read at file offset `offset` (which must follow the bytes fed before). */
  push(chunk: Buffer, offset: number, emit: LineSink): void {
    if (chunk.length === 0) return;
    let start = 0;
    if (this.carry !== undefined) {
      if (offset !== this.carryOffset + this.carry.length) throw new Error('LineSplitter: chunk is not contiguous');
      const firstNewline = chunk.indexOf(NEWLINE);
      if (firstNewline === -1) {
        this.holdRemainder(Buffer.concat([this.carry, chunk]), 0, this.carryOffset, emit);
        return;
      }
      // Only the held part and the first line of the chunk are copied, never the whole chunk.
      const joined = Buffer.concat([this.carry, chunk.subarray(0, firstNewline + 1)]);
      this.emitLine(joined, 0, joined.length - 1, this.carryOffset, emit);
      this.carry = undefined;
      start = firstNewline + 1;
    } else {
      this.carryOffset = offset;
    }
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline - start >= this.minRunBytes && isAscii(chunk.subarray(start, lastNewline + 1))) {
      this.emitAsciiRun(chunk, start, lastNewline, offset, emit);
      start = lastNewline + 1;
    } else {
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, start);
        if (newline === -1) break;
        this.emitLine(chunk, start, newline, offset, emit);
        start = newline + 1;
      }
    }
    this.holdRemainder(chunk, start, offset, emit);
  }

  /**
   * Emits the lines of `data[start, lastNewline]`, all ASCII and ending at a newline, from a
   * few strings decoded at once: each line's text is a slice of one, found by the string's
   * own indexOf, rather than a search and a decode of the buffer per line (two calls into the
   * runtime a line). In ASCII a character is a byte, so the string's indexes are the bytes'.
   * The lines, their offsets and their cut pieces are those `emitLine` gives.
   *
   * The strings stay under RUN_STRING_CHARS (but for a line longer than that): one string of a
   * whole 256 KiB read chunk is a large object to V8, in memory mapped for it alone. Henrik on
   * the agent bench's 2M lines, one core, mapped about 850 MiB that way, a page fault per 4 KiB.
   */
  private emitAsciiRun(data: Buffer, start: number, lastNewline: number, base: number, emit: LineSink): void {
    for (let from = start; from <= lastNewline; ) {
      let to = lastNewline;
      const chars = this.runStringChars;
      if (to - from >= chars) {
        to = data.lastIndexOf(NEWLINE, from + chars - 1);
        if (to < from) to = data.indexOf(NEWLINE, from + chars);
      }
      this.emitAsciiString(data, from, to, base, emit);
      from = to + 1;
    }
  }

  /** Emits the lines of `data[start, lastNewline]` (ASCII, ending at a newline) from one decoded string. */
  private emitAsciiString(data: Buffer, start: number, lastNewline: number, base: number, emit: LineSink): void {
    const text = (data as DecodableBuffer).latin1Slice(start, lastNewline + 1);
    const at = base + start;
    const max = this.maxLineBytes;
    for (let from = 0; from < text.length; ) {
      const newline = text.indexOf('\n', from);
      let contentEnd = newline;
      if (contentEnd > from && text.charCodeAt(contentEnd - 1) === CARRIAGE_RETURN) contentEnd--;
      if (contentEnd - from > max) {
        this.emitLine(data, start + from, start + newline, base, emit);
      } else {
        const end = at + newline + 1;
        emit({ offset: at + from, end, text: text.slice(from, contentEnd), cut: false, ascii: true });
        this.carryOffset = end;
      }
      from = newline + 1;
    }
  }

  /** Emits the held unfinished line as a line (its file was rotated away or deleted). */
  flushHeld(emit: LineSink): void {
    const carry = this.carry;
    if (carry === undefined || carry.length === 0) return;
    const offset = this.carryOffset;
    this.carry = undefined;
    this.carryOffset = offset + carry.length;
    emit({ offset, end: offset + carry.length, text: carry.toString('utf8'), cut: false, ascii: false });
  }

  /** Emits `data[start, newline)` (newline at index `newline`), cutting it if over the limit. */
  private emitLine(data: Buffer, start: number, newline: number, base: number, emit: LineSink): void {
    let contentEnd = newline;
    if (contentEnd > start && data[contentEnd - 1] === CARRIAGE_RETURN) contentEnd--;
    let pieceStart = start;
    while (contentEnd - pieceStart > this.maxLineBytes) {
      const pieceEnd = this.pieceEnd(data, pieceStart);
      emit({ offset: base + pieceStart, end: base + pieceEnd, text: decode(data, pieceStart, pieceEnd), cut: true, ascii: false });
      pieceStart = pieceEnd;
    }
    const end = base + newline + 1;
    emit({ offset: base + pieceStart, end, text: decode(data, pieceStart, contentEnd), cut: false, ascii: false });
    this.carryOffset = end;
  }

  /** Keeps `data[start..]` as the unfinished line, first cutting off pieces while it is over the limit. */
  private holdRemainder(data: Buffer, start: number, base: number, emit: LineSink): void {
    let pieceStart = start;
    while (data.length - pieceStart > this.maxLineBytes) {
      const pieceEnd = this.pieceEnd(data, pieceStart);
      emit({ offset: base + pieceStart, end: base + pieceEnd, text: decode(data, pieceStart, pieceEnd), cut: true, ascii: false });
      pieceStart = pieceEnd;
    }
    this.carryOffset = base + pieceStart;
    // A copy, so the caller's (large, reused) read buffer is not pinned.
    this.carry = pieceStart < data.length ? Buffer.from(data.subarray(pieceStart)) : undefined;
  }

  /** End of a piece starting at `start`: the limit, moved back to a UTF-8 character boundary. */
  private pieceEnd(data: Buffer, start: number): number {
    let end = start + this.maxLineBytes;
    for (let back = 0; back < 3 && end > start + 1 && ((data[end] as number) & 0xc0) === 0x80; back++) end--;
    return end;
  }
}
