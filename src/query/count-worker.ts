/**
 * The worker side of CountPool (count-pool.ts): decompresses segment blobs and counts the
 * lines of their text that match, exactly as the main thread's countMatchingLines would; or
 * decompresses one blob and hands its payload back (an inflate job, for a search decoding
 * ahead: segment-load.ts's Prefetch).
 *
 * A count job is one message: the query's matchers, one transferred buffer holding the blobs
 * end to end, and per blob its length and whether its text is all ASCII. The answer is one
 * count per blob (or the error). An inflate job carries one blob in a transferred buffer; its
 * answer transfers the payload's own buffer back. The worker counts finished jobs of both
 * kinds in shared memory (and flags when it is ready), so the main thread can see how busy
 * it is without waiting for a message.
 *
 * A filter job carries one blob and the query's matchers; its answer is the payload of only
 * the blob's lines the matchers match (empty when none does), so a walk through every match of
 * a common term gets a few lines per segment instead of the whole decoded segment, and the
 * main thread neither parses nor collects what it would only have skipped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Matcher } from './types.js';
import { compileMatchers, type CompiledMatch } from './matcher.js';
import { decompressPayload } from '../segment/compression.js';
import { filteredPayload } from './segment-filter.js';
import { transferableCopy } from '../common/transfer.js';
import { countPayloadLines } from './segment-count.js';

export interface CountJob {
  id: number;
  matchers: Matcher[];
  /** The blobs end to end. */
  buffer: ArrayBuffer;
  lengths: number[];
  ascii: boolean[];
}

export interface InflateJob {
  id: number;
  inflate: ArrayBuffer;
}

export interface FilterJob {
  id: number;
  filter: ArrayBuffer;
  /** Whether the segment's text is all ASCII (its metadata's flag). */
  ascii: boolean;
  matchers: Matcher[];
}

export type CountAnswer = { id: number; counts: number[] } | { id: number; payload: ArrayBuffer } | { id: number; error: string };

/** The bytes in an ArrayBuffer of their own, exactly their size, so it can be transferred. */
function ownBuffer(bytes: Buffer): ArrayBuffer {
  // Decompressed or encoded into a buffer of its own unless it came from Node's pool (under 4 KiB).
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes.buffer as ArrayBuffer;
  return transferableCopy([bytes]);
}

/** A blob's payload in an ArrayBuffer of its own, so it can be transferred. */
export function inflateJob(job: InflateJob): ArrayBuffer {
  return ownBuffer(decompressPayload(Buffer.from(job.inflate)));
}

/** The payload of the blob's lines that `match` matches (all of it when every line does); empty when none does. */
export function filterJob(job: FilterJob, match: CompiledMatch): ArrayBuffer {
  const kept = filteredPayload(Buffer.from(job.filter), job.ascii, match);
  return kept.length === 0 ? new ArrayBuffer(0) : ownBuffer(kept);
}

export interface CountWorkerData {
  /** Int32Array slots: [0] jobs finished, [1] 1 once the worker takes jobs. */
  progress: SharedArrayBuffer;
}

/** The blobs of a job, one view each. */
function blobsOf(job: CountJob): Buffer[] {
  const bytes = Buffer.from(job.buffer);
  let start = 0;
  return job.lengths.map((length) => bytes.subarray(start, (start += length)));
}

/** Blobs of one job counted in turn. */
export function countJob(job: CountJob, match: CompiledMatch): number[] {
  return blobsOf(job).map((blob, i) => countPayloadLines(decompressPayload(blob), job.ascii[i]!, match));
}

const port = parentPort;
if (port !== null) {
  const progress = new Int32Array((workerData as CountWorkerData).progress);
  // The compiled form of the last query's matchers: a job stream of one query compiles once.
  let lastKey = '';
  let lastMatch: CompiledMatch | undefined;
  const compiled = (matchers: Matcher[]): CompiledMatch => {
    const key = JSON.stringify(matchers);
    if (lastMatch === undefined || key !== lastKey) {
      lastMatch = compileMatchers(matchers);
      lastKey = key;
    }
    return lastMatch;
  };
  port.on('message', (job: CountJob | InflateJob | FilterJob) => {
    let answer: CountAnswer;
    let transfer: ArrayBuffer[] = [];
    try {
      if ('inflate' in job || 'filter' in job) {
        const payload = 'inflate' in job ? inflateJob(job) : filterJob(job, compiled(job.matchers));
        answer = { id: job.id, payload };
        transfer = [payload];
      } else {
        answer = { id: job.id, counts: countJob(job, compiled(job.matchers)) };
      }
    } catch (error) {
      answer = { id: job.id, error: error instanceof Error ? error.message : String(error) };
    }
    Atomics.add(progress, 0, 1);
    port.postMessage(answer, transfer);
  });
  Atomics.store(progress, 1, 1);
  port.postMessage('ready');
}
