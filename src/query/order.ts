/**
 * The one order of search results: by timestamp, ties by offset, then by seq. A line's seq is
 * its number in the store (one counter a store, handed out once: SQLite's and the memory
 * store's own, DynamoDB's reserved ranges of its `META`/`SEQ` item), so no two lines share
 * one and the order is total even for odd input; `desc` reverses all of it.
 *
 * Ties of timestamp and offset were once broken by host, then file id, before seq. Seq alone
 * breaks them as exactly, and a cursor then names a line by three numbers instead of carrying
 * its host and file id (a third of each /logs entry's cursor, which every entry carries).
 */
import type { StoredLine } from './types.js';

/** The fields that place a line in the order; a StoredLine is one. */
export interface LineKey {
  timestamp: bigint;
  offset: number;
  seq: number;
}

/** Ascending comparison of two keys. */
export function compareKeys(a: LineKey, b: LineKey): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.offset !== b.offset) return a.offset - b.offset;
  return a.seq - b.seq;
}

/** Negative when `a` comes first in the given order. */
export function compareInOrder(a: LineKey, b: LineKey, order: 'asc' | 'desc'): number {
  return order === 'asc' ? compareKeys(a, b) : compareKeys(b, a);
}

export function keyOf(line: StoredLine): LineKey {
  return { timestamp: line.timestamp, offset: line.offset, seq: line.seq };
}
