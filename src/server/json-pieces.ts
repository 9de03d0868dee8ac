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

/** Exactly the bytes of `JSON.stringify(answer)` for an answer whose first key is `data`. */
export function jsonWithEntries<T extends { data: readonly unknown[] }>(answer: T): Buffer {
  const { data, ...rest } = answer;
  const parts: Buffer[] = [OPEN];
  for (let i = 0; i < data.length; i += ENTRIES_A_PIECE) {
    const piece = Buffer.from(JSON.stringify(data.slice(i, i + ENTRIES_A_PIECE)));
    if (i > 0) parts.push(COMMA);
    parts.push(piece.subarray(1, piece.length - 1)); // the entries without the piece's brackets
  }
  // The keys after `data`, in the answer's order: `{}` when there are none.
  const after = JSON.stringify(rest);
  parts.push(Buffer.from(after === '{}' ? ']}' : `],${after.slice(1)}`));
  return Buffer.concat(parts);
}
