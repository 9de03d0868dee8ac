/**
 * A segment cut down to the lines a query matches, for a walk through every match of a common
 * term: the walk then parses, holds and caches a few lines of each segment instead of all of
 * them. Done on a count worker for segments read ahead (count-worker.ts) and on the main
 * thread for the rest (segment-load.ts), with the same code; on the main thread in turns
 * (time-slice.ts), as every scan there is, so a costly regex over a whole segment never holds
 * up a health check or an ingest.
 */
import { decompressPayloadInto } from '../segment/compression.js';
import { encodePayload, lineAt, parsePayload, type DecodedSegment } from '../segment/codec.js';
import type { CompiledMatch } from './matcher.js';
import { matchingIndexes, matchingIndexesSliced } from './segment-scan.js';
import type { TimeSlice } from './time-slice.js';

const NONE = Buffer.alloc(0);

/** Buffers payloads are decompressed into, reused: one per filter running at once on this thread, a few kept. */
const spare: Buffer[] = [];
const MAX_SPARE = 4;

function takeBuffer(length: number): Buffer {
  const found = spare.findIndex((buffer) => buffer.length >= length);
  if (found !== -1) return spare.splice(found, 1)[0]!;
  return Buffer.allocUnsafeSlow(Math.max(length, 1 << 20));
}

function giveBack(buffer: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(buffer);
}

/** A blob decoded into a reused buffer, until `release()` gives the buffer back. */
function decodedInScratch(blob: Buffer): { payload: Buffer; segment: DecodedSegment; release: () => void } {
  let taken: Buffer | undefined;
  const release = (): void => {
    if (taken !== undefined) giveBack(taken);
    taken = undefined;
  };
  try {
    const payload = decompressPayloadInto(blob, (length) => (taken = takeBuffer(length)));
    return { payload, segment: parsePayload(payload), release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * The payload of only the lines of a segment blob that `match` matches (no other condition is
 * tested: the walk tests the lines it gets back as it tests every line), never in the reused
 * buffer; empty when no line matches. `slice`: the main thread's turns, taken while the lines
 * are tested (the buffer stays taken until then).
 */
export async function filteredPayloadSliced(blob: Buffer, ascii: boolean, match: CompiledMatch, slice: TimeSlice): Promise<Buffer> {
  const { payload, segment, release } = decodedInScratch(blob);
  try {
    return kept(payload, segment, await matchingIndexesSliced(segment, ascii, match, slice));
  } finally {
    release();
  }
}

/** The same at once (a worker thread: nothing else waits on it). */
export function filteredPayload(blob: Buffer, ascii: boolean, match: CompiledMatch): Buffer {
  const { payload, segment, release } = decodedInScratch(blob);
  try {
    return kept(payload, segment, matchingIndexes(segment, ascii, match));
  } finally {
    release();
  }
}

/** The lines of `indexes` copied out of the decoded payload, which is not kept. */
function kept(payload: Buffer, segment: DecodedSegment, indexes: readonly number[]): Buffer {
  if (indexes.length === 0) return NONE;
  if (indexes.length === segment.count) return Buffer.from(payload); // a copy: the payload may be in a reused buffer
  return encodePayload(indexes.map((i) => lineAt(segment, i)));
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
