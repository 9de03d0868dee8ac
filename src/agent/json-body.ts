/**
 * An ingest request written as UTF-8 JSON straight into a growing Buffer: no string per
 * line for the JSON, no join, no final encode; gzip takes the bytes as they are. Most log
 * lines are ASCII: their text is copied (and escaped) byte by byte, and their `end` is left
 * out when Daniel's derivation (`offset + bytes + 1`) gives exactly it. A line with any
 * other character goes through JSON.stringify and keeps its `end`.
 */

/** Printable ASCII but `"` and `\`: copied as it is, one byte per character. (Anchored: faster in V8 than searching for a bad one.) For names. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The longest plain run from `lastIndex` (sticky; always matches, so `lastIndex` ends up after the run). */
const PLAIN_RUN = /[\x20\x21\x23-\x5b\x5d-\x7e]*/y;

/** Timestamps further apart than this (ns) are converted afresh: the difference stays a safe integer. */
const MAX_DIGIT_STEP = 2 ** 52;

const OFFSET_KEY = ascii('{"offset":');
const END_KEY = ascii(',"end":');
const TIMESTAMP_KEY = ascii(',"timestamp":"');
const LINE_KEY = ascii('","line":');
const CUT = ascii(',"cut":true');
const FIELDS_KEY = ',"fields":';

/** `,"fields":{...}` as bytes, per fields object: lines share a few (a container line's stream). */
const fieldsBytes = new WeakMap<object, Uint8Array>();

function fieldsJson(fields: Readonly<Record<string, string>>): string {
  return JSON.stringify(fields);
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function put(b: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) b[at++] = bytes[i] as number;
  return at;
}

/** JSON.stringify's one-letter escapes of control characters (`\b\t\n\f\r`), by char code; 0: none. */
const SHORT_ESCAPES = new Uint8Array(32);
for (const [c, letter] of [[8, 'b'], [9, 't'], [10, 'n'], [12, 'f'], [13, 'r']] as const) SHORT_ESCAPES[c] = letter.charCodeAt(0);
const HEX = ascii('0123456789abcdef');

/** A control character (below 0x20) escaped as JSON.stringify does. */
function putControl(b: Buffer, at: number, c: number): number {
  b[at++] = 0x5c;
  const short = SHORT_ESCAPES[c] as number;
  if (short !== 0) {
    b[at++] = short;
    return at;
  }
  b[at++] = 0x75;
  b[at++] = 0x30;
  b[at++] = 0x30;
  b[at++] = HEX[c >> 4] as number;
  b[at++] = HEX[c & 15] as number;
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

/**
 * `text` as a JSON string at `at` when it is all ASCII (control characters, `"` and `\\`
 * escaped as JSON.stringify does): the position after it; -1 (bytes written are garbage)
 * at the first character beyond ASCII. Room for 6 bytes per character plus 2 is the caller's.
 */
function putAsciiString(b: WritableBuffer, at: number, text: string): number {
  const length = text.length;
  b[at++] = 0x22;
  PLAIN_RUN.lastIndex = 0;
  PLAIN_RUN.test(text);
  const plainEnd = PLAIN_RUN.lastIndex;
  at += b.latin1Write(text, at, plainEnd);
  for (let i = plainEnd; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
      if (c >= 0x80) return -1;
      b[at++] = c;
    } else if (c === 0x22 || c === 0x5c) {
      b[at++] = 0x5c;
      b[at++] = c;
    } else {
      at = putControl(b, at, c);
    }
  }
  b[at++] = 0x22;
  return at;
}

/** Node's own per-encoding writers (Buffer.prototype, undocumented but there since v0.x): `write()` minus its argument juggling. */
interface DirectWrites {
  latin1Write(text: string, offset: number, length?: number): number;
  utf8Write(text: string, offset: number): number;
}
type WritableBuffer = Buffer & DirectWrites;

export class JsonBody {
  private buffer: WritableBuffer;
  private at = 0;
  private lastTimestamp: bigint | undefined;
  /**
   * `,"timestamp":"<its digits>","line":` as bytes, copied into the body in one native call
   * (sized exactly: `set` copies all of it). The digits start at TIMESTAMP_KEY.length.
   */
  private timestampSegment = new Uint8Array(0);

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

  /**
   * One line object, after a comma when `comma`: `{"offset":..,"timestamp":"..","line":"..."[,"end":..][,"cut":true]}`.
   * `end` comes last because only copying the text tells whether it is all ASCII (then
   * Daniel's `offset + bytes + 1` is `offset + length + 1`).
   */
  line(comma: boolean, offset: number, end: number, timestamp: bigint, text: string, cut: boolean, fields?: Readonly<Record<string, string>>): void {
    if (timestamp !== this.lastTimestamp) this.setTimestamp(timestamp);
    const length = text.length;
    // An escaped control character takes 6 bytes; the slow path's UTF-8 up to 3 per UTF-16 unit.
    this.reserve(length * 6 + 128);
    // Byte by byte rather than through a template string: no garbage per line.
    const b = this.buffer;
    let at = this.at;
    if (comma) b[at++] = 0x2c;
    b.set(OFFSET_KEY, at);
    at = putInteger(b, at + OFFSET_KEY.length, offset);
    const segment = this.timestampSegment;
    b.set(segment, at);
    at += segment.length;
    const textAt = at;
    at = putAsciiString(b, at, text);
    const ascii = at >= 0;
    if (!ascii) at = textAt + b.utf8Write(JSON.stringify(text), textAt);
    if (!ascii || cut || end !== offset + length + 1) {
      at = put(b, at, END_KEY);
      at = putInteger(b, at, end);
    }
    if (cut) at = put(b, at, CUT);
    this.at = at;
    if (fields !== undefined) this.putFields(fields);
    this.buffer[this.at++] = 0x7d;
  }

  /**
   * One line of an input that is not a tailed file (the journal, stdin), after a comma when
   * `comma`: `{"offset":..,"timestamp":"..","line":"...","end":..[,"cut":true]<fields>}`.
   * `timestamp` is the time's decimal digits; `fields` is `,"fields":{...}` in ASCII
   * (input-batcher's fieldsJson) or ''.
   */
  inputLine(comma: boolean, offset: number, end: number, timestamp: string, text: string, cut: boolean, fields: string): void {
    const length = text.length;
    this.reserve(length * 6 + timestamp.length + fields.length + 128);
    const b = this.buffer;
    let at = this.at;
    if (comma) b[at++] = 0x2c;
    b.set(OFFSET_KEY, at);
    at = putInteger(b, at + OFFSET_KEY.length, offset);
    at = put(b, at, TIMESTAMP_KEY);
    at += b.latin1Write(timestamp, at);
    at = put(b, at, LINE_KEY);
    const textAt = at;
    at = putAsciiString(b, at, text);
    if (at < 0) at = textAt + b.utf8Write(JSON.stringify(text), textAt);
    at = put(b, at, END_KEY);
    at = putInteger(b, at, end);
    if (cut) at = put(b, at, CUT);
    if (fields.length > 0) at += b.latin1Write(fields, at);
    b[at++] = 0x7d;
    this.at = at;
  }

  /** Bytes already written (another body's), appended as they are. */
  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** `key` then a flat map of strings as a JSON object (a group's labels). */
  fields(key: string, fields: Readonly<Record<string, string>>): void {
    this.raw(key);
    const json = fieldsJson(fields);
    this.reserve(json.length * 3);
    this.at += this.buffer.utf8Write(json, this.at);
  }

  private putFields(fields: Readonly<Record<string, string>>): void {
    let bytes = fieldsBytes.get(fields);
    if (bytes === undefined) {
      bytes = Buffer.from(FIELDS_KEY + fieldsJson(fields));
      fieldsBytes.set(fields, bytes);
    }
    this.reserve(bytes.length + 1);
    this.buffer.set(bytes, this.at);
    this.at += bytes.length;
  }

  /**
   * Neighbouring lines share their time or are a little apart: the digits are advanced by
   * the difference (decimal addition) rather than converted afresh, which costs more.
   */
  private setTimestamp(timestamp: bigint): void {
    const last = this.lastTimestamp;
    this.lastTimestamp = timestamp;
    if (last !== undefined && last >= 0n && timestamp > last) {
      const delta = Number(timestamp - last);
      if (delta < MAX_DIGIT_STEP && this.addToDigits(delta)) return;
    }
    const digits = timestamp.toString();
    const segment = new Uint8Array(TIMESTAMP_KEY.length + digits.length + LINE_KEY.length);
    segment.set(TIMESTAMP_KEY, 0);
    for (let i = 0; i < digits.length; i++) segment[TIMESTAMP_KEY.length + i] = digits.charCodeAt(i);
    segment.set(LINE_KEY, TIMESTAMP_KEY.length + digits.length);
    this.timestampSegment = segment;
  }

  /** Adds `delta` (a positive safe integer) to the digits; false (digits spoiled) when the number grows a digit. */
  private addToDigits(delta: number): boolean {
    const digits = this.timestampSegment;
    let rest = delta;
    let carry = 0;
    for (let i = digits.length - LINE_KEY.length - 1; i >= TIMESTAMP_KEY.length; i--) {
      if (rest === 0 && carry === 0) return true;
      const next = Math.floor(rest / 10);
      let digit = (digits[i] as number) - 0x30 + (rest - next * 10) + carry;
      rest = next;
      carry = digit >= 10 ? 1 : 0;
      if (carry === 1) digit -= 10;
      digits[i] = 0x30 + digit;
    }
    return rest === 0 && carry === 0;
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
