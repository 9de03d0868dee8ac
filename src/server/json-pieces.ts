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
const OPEN = Buffer.from('{"data":[');
const COMMA = Buffer.from(',');

/**
 * Exactly the bytes of `JSON.stringify({ data: items.map(entryOf), ...rest })`. Each entry is
 * made just before its piece is serialized and dropped after, so a page's entries die young
 * instead of living through the young generation's collections into the old one.
 */
export function jsonWithEntries<T>(items: readonly T[], entryOf: (item: T) => unknown, rest: object = {}): Buffer {
  return Buffer.concat([...pieces(items, entryOf, rest)]);
}

/**
 * The same bytes, letting the event loop run between pieces: for a page made while nobody
 * waits for it (page-prefetch.ts), so the sockets' writes and other requests go on beside it.
 */
export async function jsonWithEntriesYielding<T>(items: readonly T[], entryOf: (item: T) => unknown, rest: object = {}, signal?: AbortSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const piece of pieces(items, entryOf, rest)) {
    parts.push(piece);
    if (piece === OPEN || piece === COMMA) continue; // a turn after each piece of entries, not after its separators
    await new Promise(setImmediate);
    signal?.throwIfAborted();
  }
  return Buffer.concat(parts);
}

function* pieces<T>(items: readonly T[], entryOf: (item: T) => unknown, rest: object): Generator<Buffer> {
  yield OPEN;
  const entries: unknown[] = [];
  for (let i = 0; i < items.length; i += ENTRIES_A_PIECE) {
    const end = Math.min(items.length, i + ENTRIES_A_PIECE);
    entries.length = 0;
    for (let j = i; j < end; j++) entries.push(entryOf(items[j]!));
    const piece = Buffer.from(JSON.stringify(entries));
    if (i > 0) yield COMMA;
    yield piece.subarray(1, piece.length - 1); // the entries without the piece's brackets
  }
  // The keys after `data`, in the order given: `{}` when there are none.
  const after = JSON.stringify(rest);
  yield Buffer.from(after === '{}' ? ']}' : `],${after.slice(1)}`);
}
