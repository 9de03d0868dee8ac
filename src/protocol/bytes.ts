/**
 * The byte encoding the binary formats share: the segment format (segment/codec.ts), the
 * binary ingest batch (binary-batch.ts) and search cursors (query/cursor.ts). Varints are
 * LEB128, zigzag maps n to 2n and -n to 2n-1, a string is a varint of its UTF-8 bytes then
 * those bytes, an int64 is 8 bytes LE.
 */

/**
 * Characters a string joined from many (lines, with or without their newlines) may reach
 * before both formats' writers copy it into their buffer: the copy flattens it, and a string
 * over 128 KiB is a large object to V8, in memory mapped for it alone and unmapped at the next
 * collection. Henrik's batch writer and Daniel's segment text both joined past that, which cost
 * each a page fault per 4 KiB of text (docs/agent.md, docs/architecture.md).
 */
export const JOINED_STRING_CHARS = 32 * 1024;

/** Strings shorter than this (a one-byte varint length) take ByteWriter.string's ASCII path. */
const SHORT_STRING = 0x80;

/** Varints, zigzags, bytes and length-prefixed UTF-8 strings into a growing buffer (the segment format's encoding). */
export class ByteWriter {
  private buffer = Buffer.allocUnsafe(4096);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  varint(value: number): void {
    this.reserve(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  zigzag(value: number): void {
    this.varint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  int64(value: bigint): void {
    this.reserve(8);
    this.buffer.writeBigInt64LE(value, this.length);
    this.length += 8;
  }

  /** A varint byte length, then the string's UTF-8. */
  string(value: string): void {
    // Field names and values are mostly short ASCII: written a char at a time, without the two
    // calls into the runtime (byteLength, write) that cost more than the copy itself.
    const length = value.length;
    if (length < SHORT_STRING) {
      this.reserve(length + 1);
      const buffer = this.buffer;
      let at = this.length + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[at++] = code;
      }
      if (i === length) {
        buffer[this.length] = length;
        this.length = at;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.reserve(bytes);
    this.buffer.write(value, this.length, 'utf8');
    this.length += bytes;
  }

  /** Appends a copy of `bytes`. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Appends a copy of bytes [start, end) already written. */
  copyWithin(start: number, end: number): void {
    this.reserve(end - start);
    this.buffer.copyWithin(this.length, start, end);
    this.length += end - start;
  }

  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Reads what ByteWriter wrote; throws `truncated()` (by default an Error naming a segment blob) on input that ends early. */
export class ByteReader {
  position = 0;
  constructor(
    private readonly buffer: Buffer,
    private readonly truncated: () => Error = () => new Error('Segment blob is truncated.'),
  ) {}

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buffer[this.position++];
      if (byte === undefined) throw this.truncated();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }

  zigzag(): number {
    const value = this.varint();
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  byte(): number {
    const byte = this.buffer[this.position++];
    if (byte === undefined) throw this.truncated();
    return byte;
  }

  int64(): bigint {
    if (this.position + 8 > this.buffer.length) throw this.truncated();
    const value = this.buffer.readBigInt64LE(this.position);
    this.position += 8;
    return value;
  }

  string(): string {
    const bytes = this.varint();
    if (this.position + bytes > this.buffer.length) throw this.truncated();
    const value = this.buffer.toString('utf8', this.position, this.position + bytes);
    this.position += bytes;
    return value;
  }

  /** The next `length` bytes as they are (what ByteWriter.append wrote), a view of the buffer. */
  bytes(length: number): Buffer {
    if (this.position + length > this.buffer.length) throw this.truncated();
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }
}
