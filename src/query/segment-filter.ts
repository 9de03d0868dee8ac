/**
 * A segment cut down to the lines a query matches, for a walk through every match of a common
 * term: the walk then parses, holds and caches a few lines of each segment instead of all of
 * them. Done on a count worker for segments read ahead (count-worker.ts) and on the main
 * thread for the rest (segment-search.ts), with the same code.
 */
import { decompressPayloadTransient } from '../segment/compression.js';
import { encodePayload, lineAt, parsePayload, type DecodedSegment } from '../segment/codec.js';
import type { CompiledMatch } from './matcher.js';
import { matchingIndexes } from './segment-scan.js';

const NONE = Buffer.alloc(0);

/**
 * The payload of only the lines of a segment blob that `match` matches (no other condition is
 * tested: the walk tests the lines it gets back as it tests every line), in a buffer of its own
 * (an ArrayBuffer exactly its size when not empty, so a worker can transfer it); empty when no
 * line matches. The blob is decompressed into a buffer this thread reuses, since nothing of it
 * is kept but the lines copied out.
 */
export function filteredPayload(blob: Buffer, ascii: boolean, match: CompiledMatch): Buffer {
  const payload = decompressPayloadTransient(blob);
  const segment = parsePayload(payload);
  const indexes = matchingIndexes(segment, ascii, match);
  if (indexes.length === 0) return NONE;
  if (indexes.length === segment.count) return copied(payload);
  const kept = encodePayload(indexes.map((i) => lineAt(segment, i)));
  return kept.byteOffset === 0 && kept.buffer.byteLength === kept.length ? kept : copied(kept);
}

function copied(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** The lines of a payload filteredPayload answered: none when it is empty. */
export function filteredSegment(payload: Buffer): DecodedSegment {
  if (payload.length > 0) return parsePayload(payload);
  return {
    count: 0,
    offsets: new Float64Array(0),
    ends: new Float64Array(0),
    timestamps: new BigInt64Array(0),
    seqs: new Float64Array(0),
    cuts: new Uint8Array(0),
    starts: new Int32Array(0),
    lengths: new Int32Array(0),
    text: NONE,
  };
}
