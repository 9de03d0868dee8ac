/**
 * The one order of search results: by timestamp, ties by offset, then host, then file id,
 * then seq (so the order is total even for odd input); `desc` reverses all of it.
 */
import type { StoredLine } from './types.js';

/** The fields that place a line in the order; a StoredLine is one. */
export interface LineKey {
  timestamp: bigint;
  offset: number;
  host: string;
  fileId: string;
  seq: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ascending comparison of two keys. */
export function compareKeys(a: LineKey, b: LineKey): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.offset !== b.offset) return a.offset - b.offset;
  const byHost = compareStrings(a.host, b.host);
  if (byHost !== 0) return byHost;
  const byFile = compareStrings(a.fileId, b.fileId);
  if (byFile !== 0) return byFile;
  return a.seq - b.seq;
}

/** Negative when `a` comes first in the given order. */
export function compareInOrder(a: LineKey, b: LineKey, order: 'asc' | 'desc'): number {
  return order === 'asc' ? compareKeys(a, b) : compareKeys(b, a);
}

export function keyOf(line: StoredLine): LineKey {
  return { timestamp: line.timestamp, offset: line.offset, host: line.host, fileId: line.fileId, seq: line.seq };
}
