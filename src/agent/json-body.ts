/**
 * An ingest request written as UTF-8 JSON straight into a growing Buffer: no string per
 * line for the JSON, no join, no final encode; gzip takes the bytes as they are. Most log
 * lines are printable ASCII without a quote or backslash: their text is copied as it is,
 * and their `end` is left out (Daniel derives `offset + bytes + 1`, which is exactly it).
 * Anything else goes through JSON.stringify and keeps its `end`.
 */

/** Printable ASCII but `"` and `\`: copied as it is, one byte per character. (Anchored: faster in V8 than searching for a bad one.) */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const OFFSET_KEY = ascii('{"offset":');
const END_KEY = ascii(',"end":');
const TIMESTAMP_KEY = ascii(',"timestamp":"');
const LINE_KEY = ascii('","line":');
const LINE_KEY_QUOTE = ascii('","line":"');
const CUT = ascii(',"cut":true');

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function put(b: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) b[at++] = bytes[i] as number;
  return at;
}

/** A non-negative safe integer in decimal. */
function putInteger(b: Buffer, at: number, value: number): number {
  if (value >= 0x80000000) {
    const text = String(value);
    for (let i = 0; i < text.length; i++) b[at++] = text.charCodeAt(i);
    return at;
  }
  // Small integers stay int32, so `/ 10 | 0` compiles to a multiply and a shift.
  let digits = 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) | 0) digits++;
  let rest = value;
  for (let i = at + digits - 1; i > at; i--) {
    const next = (rest / 10) | 0;
    b[i] = 0x30 + rest - next * 10;
    rest = next;
  }
  b[at] = 0x30 + rest;
  return at + digits;
}

/** Node's own per-encoding writers (Buffer.prototype, undocumented but there since v0.x): `write()` minus its argument juggling. */
interface DirectWrites {
  latin1Write(text: string, offset: number): number;
  utf8Write(text: string, offset: number): number;
}
type WritableBuffer = Buffer & DirectWrites;

export class JsonBody {
  private buffer: WritableBuffer;
  private at = 0;
  private lastTimestamp: bigint | undefined;
  /** Its decimal digits (a 64-bit time has at most 20). */
  private readonly timestampDigits = new Uint8Array(24);
  private timestampLength = 0;

  /** Writes into `initial` (grown into a new buffer if a batch ever needs more). */
  constructor(initial: Buffer) {
    this.buffer = initial as WritableBuffer;
  }

  /** The buffer written into, for handing back to its pool once the body is no longer read. */
  get storage(): Buffer {
    return this.buffer;
  }

  get length(): number {
    return this.at;
  }

  /** ASCII text that needs no escaping (keys, numbers, punctuation). */
  raw(text: string): void {
    this.reserve(text.length);
    this.at += this.buffer.latin1Write(text, this.at);
  }

  /** Any text, as a JSON string. */
  string(text: string): void {
    if (PLAIN.test(text)) {
      this.reserve(text.length + 2);
      this.buffer[this.at++] = 0x22;
      this.at += this.buffer.latin1Write(text, this.at);
      this.buffer[this.at++] = 0x22;
      return;
    }
    const json = JSON.stringify(text);
    this.reserve(json.length * 3);
    this.at += this.buffer.utf8Write(json, this.at);
  }

  /** One line object, after a comma when `comma`: `{"offset":..,["end":..,]"timestamp":"..","line":"..."[,"cut":true]}`. */
  line(comma: boolean, offset: number, end: number, timestamp: bigint, text: string, cut: boolean): void {
    if (timestamp !== this.lastTimestamp) {
      // Neighbouring lines often share their time: one decimal conversion for all of them.
      this.lastTimestamp = timestamp;
      const text = timestamp.toString();
      this.timestampLength = Math.min(text.length, this.timestampDigits.length);
      for (let i = 0; i < this.timestampLength; i++) this.timestampDigits[i] = text.charCodeAt(i);
    }
    const plain = PLAIN.test(text);
    this.reserve(text.length * (plain ? 1 : 6) + 128);
    // Byte by byte rather than through a template string: no garbage per line.
    const b = this.buffer;
    let at = this.at;
    if (comma) b[at++] = 0x2c;
    at = put(b, at, OFFSET_KEY);
    at = putInteger(b, at, offset);
    if (!plain || cut || end !== offset + text.length + 1) {
      at = put(b, at, END_KEY);
      at = putInteger(b, at, end);
    }
    at = put(b, at, TIMESTAMP_KEY);
    const digits = this.timestampDigits;
    for (let i = 0; i < this.timestampLength; i++) b[at++] = digits[i] as number;
    if (plain) {
      at = put(b, at, LINE_KEY_QUOTE);
      at += b.latin1Write(text, at);
      b[at++] = 0x22;
    } else {
      at = put(b, at, LINE_KEY);
      at += b.utf8Write(JSON.stringify(text), at);
    }
    if (cut) at = put(b, at, CUT);
    b[at++] = 0x7d;
    this.at = at;
  }

  /** The bytes written; the body must not be written to afterwards. */
  finish(): Buffer {
    return this.buffer.subarray(0, this.at);
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes)) as WritableBuffer;
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}

/** For tests and tools: a line's text as JSON, as the body writes it. */
export function jsonString(text: string): string {
  const body = new JsonBody(Buffer.allocUnsafe(16));
  body.string(text);
  return body.finish().toString('utf8');
}

/**
 * Body buffers, reused: a batch's buffer comes back once gzip has read it. Allocating a
 * fresh half-MiB per batch made external memory climb between major GCs (at 10 MiB/s,
 * some 30 of them a second).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
  }

  /** `buffer` must no longer be read or written by anyone. Grown ones are left to the GC. */
  give(buffer: Buffer): void {
    if (buffer.length === this.bufferBytes && this.free.length < this.keep && !this.free.includes(buffer)) this.free.push(buffer);
  }
}
