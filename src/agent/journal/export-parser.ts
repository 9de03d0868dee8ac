/**
 * `journalctl -o export` -> entries. The export format (systemd's JOURNAL_EXPORT_FORMATS):
 * each entry is a run of fields ended by an empty line; a field is `KEY=value\n` when its
 * value is printable text, else `KEY\n` followed by the value's length (64-bit little
 * endian), the bytes, and `\n`. Only the fields Henrik ships are decoded; the rest are
 * stepped over. Text is decoded as UTF-8 with invalid bytes as U+FFFD, binary values too.
 *
 * Chunks may end anywhere: the field being read is carried to the next chunk. A binary
 * value over `maxHeldBytes` is not held whole: a MESSAGE keeps its first `maxMessageBytes`
 * bytes (the entry is marked `truncated`), any other such value is dropped.
 */

/** What an entry carries that Henrik uses; undefined when the entry has no such field. */
export interface ExportEntry {
  cursor: string;
  /** The cursor's `s=` (the journal's sequence number id, 32 hex digits). */
  seqnumId: string;
  /** The cursor's `i=` (the entry's sequence number in that journal). */
  seqnum: number;
  /** `__REALTIME_TIMESTAMP`: microseconds since the epoch, decimal digits. */
  realtime: string | undefined;
  message: string | undefined;
  /** 0..7, or -1 when absent or not a single digit. */
  priority: number;
  unit: string | undefined;
  identifier: string | undefined;
  comm: string | undefined;
  pid: string | undefined;
  /** The MESSAGE was longer than `maxMessageBytes` and was cut there. */
  truncated: boolean;
}

const NEWLINE = 0x0a;
const EQUALS = 0x3d;

const enum Key {
  Other,
  Cursor,
  Realtime,
  Message,
  Priority,
  Unit,
  Identifier,
  Comm,
  Pid,
}

const KEYS: Array<[Key, Uint8Array]> = [
  [Key.Cursor, '__CURSOR'],
  [Key.Realtime, '__REALTIME_TIMESTAMP'],
  [Key.Message, 'MESSAGE'],
  [Key.Priority, 'PRIORITY'],
  [Key.Unit, '_SYSTEMD_UNIT'],
  [Key.Identifier, 'SYSLOG_IDENTIFIER'],
  [Key.Comm, '_COMM'],
  [Key.Pid, '_PID'],
].map(([key, name]) => [key as Key, Buffer.from(name as string, 'latin1')]);

/** Keys by length (index): a field's key is compared only with those of its length. */
const BY_LENGTH: Array<Array<[Key, Uint8Array]> | undefined> = [];
for (const entry of KEYS) BY_LENGTH[entry[1].length] = [...(BY_LENGTH[entry[1].length] ?? []), entry];

function keyOf(b: Buffer, start: number, end: number): Key {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return Key.Other;
  outer: for (let k = 0; k < candidates.length; k++) {
    const [key, name] = candidates[k] as [Key, Uint8Array];
    // The last bytes differ first among keys of one length (`__CURSOR`, `_BOOT_ID`, `PRIORITY`).
    for (let i = name.length - 1; i >= 0; i--) if (b[start + i] !== name[i]) continue outer;
    return key;
  }
  return Key.Other;
}

type Decodable = Buffer & { utf8Slice(start: number, end: number): string; latin1Slice(start: number, end: number): string };

/**
 * The last few values seen for a key, reused while the bytes are the same: a journal
 * interleaves a handful of units and identifiers entry by entry, and a string made afresh
 * per entry costs more than comparing a few bytes.
 */
class Recent {
  private readonly bytes: Buffer[] = [];
  private readonly texts: string[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  get(b: Buffer, start: number, end: number): string {
    const length = end - start;
    const all = this.bytes;
    outer: for (let k = 0; k < all.length; k++) {
      const known = all[k] as Buffer;
      if (known.length !== length) continue;
      for (let i = 0; i < length; i++) if (b[start + i] !== known[i]) continue outer;
      return this.texts[k] as string;
    }
    const text = (b as Decodable).utf8Slice(start, end);
    if (length > 256) return text;
    const slot = this.next;
    this.next = (slot + 1) % this.size;
    all[slot] = Buffer.from(b.subarray(start, end));
    this.texts[slot] = text;
    return text;
  }
}

export interface ExportParserOptions {
  /** A MESSAGE is cut at this many bytes. */
  maxMessageBytes: number;
  /** A binary value longer than this is not held whole (default maxMessageBytes + 64 KiB). */
  maxHeldBytes?: number;
}

export class ExportParser {
  private carry: Buffer | undefined;
  private entry: ExportEntry = blank();
  /** A long binary value being stepped over: bytes still to skip (its trailing `\n` included). */
  private skipping = 0;
  private skippingMessage: Buffer[] | undefined;
  private skippingKept = 0;
  private readonly maxHeld: number;
  private readonly seqnumIds = new Recent(2);
  private readonly units = new Recent(8);
  private readonly identifiers = new Recent(8);
  private readonly comms = new Recent(8);
  /** Entries without a usable cursor (never from journalctl; counted, not shipped). */
  malformed = 0;

  constructor(private readonly options: ExportParserOptions) {
    this.maxHeld = options.maxHeldBytes ?? options.maxMessageBytes + 64 * 1024;
  }

  /** Bytes held of an unfinished field. */
  get heldBytes(): number {
    return this.carry?.length ?? 0;
  }

  /** Forgets a partial entry (the reader starts again after the last whole one). */
  reset(): void {
    this.carry = undefined;
    this.entry = blank();
    this.skipping = 0;
    this.skippingMessage = undefined;
  }

  push(chunk: Buffer, emit: (entry: ExportEntry) => void): void {
    let b = chunk;
    if (this.skipping > 0) {
      const taken = Math.min(this.skipping, b.length);
      this.keepSkipped(b.subarray(0, taken));
      this.skipping -= taken;
      b = b.subarray(taken);
      if (this.skipping > 0) return;
      this.endSkip();
    }
    if (this.carry !== undefined) {
      b = Buffer.concat([this.carry, b]);
      this.carry = undefined;
    }
    let pos = 0;
    const length = b.length;
    while (pos < length) {
      if (b[pos] === NEWLINE) {
        this.finishEntry(emit);
        pos++;
        continue;
      }
      // The key, up to `=` (a text field) or a newline (a binary one): keys are short, and a
      // loop here costs less than a native search.
      let nl = pos;
      let c = 0;
      while (nl < length && (c = b[nl] as number) !== EQUALS && c !== NEWLINE) nl++;
      if (nl >= length) break;
      if (c === EQUALS) {
        const eq = nl;
        nl = b.indexOf(NEWLINE, eq + 1);
        if (nl === -1) break;
        this.field(keyOf(b, pos, eq), b, eq + 1, nl);
        pos = nl + 1;
        continue;
      }
      // A binary field: KEY \n size(8, LE) data \n
      if (nl + 9 > length) break;
      const size = Number(b.readBigUInt64LE(nl + 1));
      const key = keyOf(b, pos, nl);
      const dataStart = nl + 9;
      if (dataStart + size + 1 <= length) {
        this.field(key, b, dataStart, dataStart + size);
        pos = dataStart + size + 1;
        continue;
      }
      if (size <= this.maxHeld) break;
      // Too long to hold: keep what a MESSAGE needs, step over the rest as it comes.
      this.skippingMessage = key === Key.Message ? [] : undefined;
      this.skippingKept = 0;
      const available = length - dataStart;
      this.keepSkipped(b.subarray(dataStart));
      this.skipping = size + 1 - available;
      return;
    }
    if (pos < length) this.carry = Buffer.from(b.subarray(pos));
  }

  private keepSkipped(bytes: Buffer): void {
    const kept = this.skippingMessage;
    if (kept === undefined || this.skippingKept >= this.options.maxMessageBytes) return;
    const piece = bytes.subarray(0, this.options.maxMessageBytes - this.skippingKept);
    kept.push(Buffer.from(piece));
    this.skippingKept += piece.length;
  }

  private endSkip(): void {
    const kept = this.skippingMessage;
    this.skippingMessage = undefined;
    if (kept === undefined) return;
    const bytes = Buffer.concat(kept);
    // The last byte read is the field's `\n` only when the whole value fit the limit (it never does here).
    this.entry.message = cutMessage(bytes, 0, bytes.length, this.options.maxMessageBytes);
    this.entry.truncated = true;
  }

  private field(key: Key, b: Buffer, start: number, end: number): void {
    const e = this.entry;
    switch (key) {
      case Key.Other:
        return;
      case Key.Cursor:
        this.cursor(b, start, end);
        return;
      case Key.Realtime:
        e.realtime = (b as Decodable).latin1Slice(start, end);
        return;
      case Key.Message:
        if (end - start > this.options.maxMessageBytes) e.truncated = true;
        e.message = cutMessage(b, start, end, this.options.maxMessageBytes);
        return;
      case Key.Priority: {
        const c = b[start] as number;
        e.priority = end - start === 1 && c >= 0x30 && c <= 0x37 ? c - 0x30 : -1;
        return;
      }
      case Key.Unit:
        e.unit = this.units.get(b, start, end);
        return;
      case Key.Identifier:
        e.identifier = this.identifiers.get(b, start, end);
        return;
      case Key.Comm:
        e.comm = this.comms.get(b, start, end);
        return;
      case Key.Pid:
        // Many processes: a short string made afresh costs less than looking it up.
        e.pid = (b as Decodable).utf8Slice(start, end);
        return;
    }
  }

  /** `s=<32 hex>;i=<hex>;b=…`: the sequence number id and number, without splitting the text. */
  private cursor(b: Buffer, start: number, end: number): void {
    const e = this.entry;
    e.cursor = (b as Decodable).latin1Slice(start, end);
    if (end - start < 38 || b[start] !== 0x73 || b[start + 1] !== EQUALS || b[start + 34] !== 0x3b || b[start + 35] !== 0x69 || b[start + 36] !== EQUALS) return;
    e.seqnumId = this.seqnumIds.get(b, start + 2, start + 34);
    let seqnum = 0;
    let digits = 0;
    for (let i = start + 37; i < end; i++) {
      const c = b[i] as number;
      const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
      if (v < 0) break;
      seqnum = seqnum * 16 + v;
      digits++;
    }
    e.seqnum = digits > 0 && digits <= 13 ? seqnum : -1;
  }

  private finishEntry(emit: (entry: ExportEntry) => void): void {
    const e = this.entry;
    this.entry = blank();
    if (e.cursor === '') return;
    if (e.seqnumId === '' || e.seqnum < 0) {
      this.malformed++;
      return;
    }
    emit(e);
  }
}

function blank(): ExportEntry {
  return { cursor: '', seqnumId: '', seqnum: -1, realtime: undefined, message: undefined, priority: -1, unit: undefined, identifier: undefined, comm: undefined, pid: undefined, truncated: false };
}

/** The text of `b[start, end)`, at most `max` bytes (cut back to a character boundary), one trailing newline dropped. */
function cutMessage(b: Buffer, start: number, end: number, max: number): string {
  if (end - start > max) {
    end = start + max;
    for (let back = 0; back < 3 && end > start + 1 && ((b[end] as number) & 0xc0) === 0x80; back++) end--;
  } else if (end > start && b[end - 1] === NEWLINE) {
    end--;
  }
  return (b as Decodable).utf8Slice(start, end);
}
