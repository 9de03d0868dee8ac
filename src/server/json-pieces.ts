/**
 * A /logs answer as UTF-8, serialized a few entries at a time. A page of 10,000 lines is
 * ~7 MB of JSON: as one string from JSON.stringify it is a large object to V8 (over 128 KiB),
 * which Fastify measures and Node writes by flattening and encoding it twice more, each copy
 * memory mapped for itself and faulted in 4 KiB at a time. Measured paging every `ERROR` of
 * the bench's 2M lines, those copies were two thirds of Daniel's page faults. Here every
 * string stays small and the bytes are joined once, into one buffer.
 */

/** Entries a piece: ~750 bytes an entry in the bench, so a piece is ~48 KB, well under V8's large-object size. */
const ENTRIES_A_PIECE = 64;
const OPEN = '{"data":[';
const COMMA = 0x2c;

/**
 * Exactly the bytes of `JSON.stringify({ data: items.map(entryOf), ...rest })`. Each entry is
 * made just before its piece is serialized and dropped after, so a page's entries die young
 * instead of living through the young generation's collections into the old one.
 */
export function jsonWithEntries<T>(items: readonly T[], entryOf: (item: T) => unknown, rest: object = {}): Buffer {
  const out = new JsonOut(items.length);
  for (let i = 0; i < items.length; i += ENTRIES_A_PIECE) out.piece(items, i, entryOf);
  return out.end(rest);
}

/**
 * The same bytes, letting the event loop run between pieces: for a page made while nobody
 * waits for it (page-prefetch.ts), so the sockets' writes and other requests go on beside it.
 */
export async function jsonWithEntriesYielding<T>(items: readonly T[], entryOf: (item: T) => unknown, rest: object = {}, signal?: AbortSignal): Promise<Buffer> {
  const out = new JsonOut(items.length);
  for (let i = 0; i < items.length; i += ENTRIES_A_PIECE) {
    out.piece(items, i, entryOf);
    await new Promise(setImmediate);
    signal?.throwIfAborted();
  }
  return out.end(rest);
}

/**
 * One answer's bytes, each piece's JSON encoded straight into them: a buffer per piece and a
 * copy of every piece into the answer (Buffer.concat) were a tenth of the CPU of paging
 * `count=10000`. The buffer is sized from the first piece's bytes an entry.
 */
class JsonOut {
  private buffer: Buffer;
  private used: number;
  private readonly entries: unknown[] = [];

  constructor(private readonly count: number) {
    // A short answer (a rare needle's few lines) fits a small buffer from Node's pool: with
    // 64 KiB of its own for every answer, the bench's rare-needle query on a 10M-line Daniel
    // took 4.7 ms instead of 3.2-3.7 (docs/architecture.md).
    this.buffer = Buffer.allocUnsafe(Math.min(64 * 1024, 512 + count * 1024));
    this.used = this.buffer.write(OPEN, 0, 'latin1');
  }

  /** The entries of items[start, start + ENTRIES_A_PIECE), after a comma unless they are the first. */
  piece<T>(items: readonly T[], start: number, entryOf: (item: T) => unknown): void {
    const end = Math.min(items.length, start + ENTRIES_A_PIECE);
    const entries = this.entries;
    entries.length = 0;
    for (let j = start; j < end; j++) entries.push(entryOf(items[j]!));
    const text = JSON.stringify(entries);
    // `[e1,…,en]` written over the answer's `[` (the first piece) or after it, its `[` then made
    // a comma; its `]` is dropped by not counting it.
    const at = start === 0 ? this.used - 1 : this.used;
    this.room(at, text);
    const written = this.buffer.write(text, at);
    if (start > 0) this.buffer[at] = COMMA;
    this.used = at + written - 1;
    if (start === 0 && end < this.count) {
      // A buffer for the whole answer, estimated from this piece's bytes an entry.
      this.room(this.used, '', Math.ceil((written / (end - start)) * (this.count - end) * 1.1));
    }
  }

  /** The answer: the keys after `data`, in the order given (`]}` when there are none). */
  end(rest: object): Buffer {
    const after = JSON.stringify(rest);
    const tail = after === '{}' ? ']}' : `],${after.slice(1)}`;
    this.room(this.used, tail);
    this.used += this.buffer.write(tail, this.used);
    return this.buffer.subarray(0, this.used);
  }

  /** Makes the buffer hold `text` (and `extra` bytes more) written at `at`. */
  private room(at: number, text: string, extra = 0): void {
    const capacity = this.buffer.length;
    if (at + text.length * 3 + extra <= capacity) return; // UTF-8 is at most 3 bytes a UTF-16 unit
    const needed = at + Buffer.byteLength(text) + extra;
    if (needed <= capacity) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.ceil(capacity * 1.5)));
    this.buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}
