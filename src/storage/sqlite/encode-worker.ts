/**
 * The worker side of EncodePool (encode-pool.ts): the bloom and the compression of runs' text,
 * which are most of what encoding a segment costs (segment/codec.ts `prepareText`).
 *
 * A job is one message: the texts end to end in one transferred buffer, with their lengths,
 * line counts and ASCII flags. The answer is, per text, its bloom and its packed bytes, in
 * one transferred buffer with their lengths (or the error).
 */
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { payloadTextStart, prepareText } from '../../segment/codec.js';
import { repackBlob, RepackStopped } from '../../segment/compression.js';
import { transferableCopy } from '../../common/transfer.js';

export interface EncodeJob {
  id: number;
  buffer: ArrayBuffer;
  lengths: number[];
  lineCounts: number[];
  ascii: boolean[];
}

/** A sealed segment's blob to compress again at a slower level (repacker.ts). */
export interface RepackJob {
  id: number;
  kind: 'repack';
  blob: Uint8Array;
  level: number;
}

export type EncodeAnswer =
  | { id: number; buffer: ArrayBuffer; blooms: number[]; packed: number[] }
  | { id: number; kind: 'repack'; blob: ArrayBuffer | null }
  | { id: number; kind: 'repack'; stopped: true }
  | { id: number; error: string };

export function encodeJob(job: EncodeJob): { buffer: ArrayBuffer; blooms: number[]; packed: number[] } {
  const bytes = Buffer.from(job.buffer);
  const parts: Buffer[] = [];
  const blooms: number[] = [];
  const packed: number[] = [];
  let start = 0;
  job.lengths.forEach((length, i) => {
    const prepared = prepareText(bytes.subarray(start, (start += length)), job.lineCounts[i]!, job.ascii[i]!);
    parts.push(prepared.bloom, prepared.packed);
    blooms.push(prepared.bloom.length);
    packed.push(prepared.packed.length);
  });
  return { buffer: transferableCopy(parts), blooms, packed };
}

/**
 * A background worker lowers its own thread to the lowest priority. Linux keeps a nice value
 * per thread, and setpriority given a thread's id sets that thread's alone (elsewhere there is
 * no /proc/thread-self, and the worker keeps the process's priority).
 */
function lowerOwnPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, constants.priority.PRIORITY_LOW);
  } catch {
    // not Linux, or not allowed: the work only competes more
  }
}

/** Where a payload's text starts, for its variable columns (compression.ts); 0 for bytes that are no segment payload (arranged whole: still the same bytes back). */
function textStartOf(payload: Buffer): number {
  try {
    return payloadTextStart(payload);
  } catch {
    return 0;
  }
}

const port = parentPort;
const data = workerData as { background?: boolean; stop?: SharedArrayBuffer } | null;
/** Set by the pool when something else wants the cores: a repack stops at its next chunk. */
const stop = data?.stop === undefined ? undefined : new Int32Array(data.stop);
const stopped = (): boolean => stop !== undefined && Atomics.load(stop, 0) !== 0;
if (port !== null) {
  if (data?.background === true) lowerOwnPriority();
  port.on('message', (job: EncodeJob | RepackJob) => {
    let answer: EncodeAnswer;
    try {
      if ('kind' in job) {
        const repacked = repackBlob(Buffer.from(job.blob.buffer, job.blob.byteOffset, job.blob.byteLength), job.level, stopped, textStartOf);
        // repackBlob's buffer is its own (never a slice of Node's pool): handed over as it is.
        answer = { id: job.id, kind: 'repack', blob: repacked === undefined ? null : (repacked.buffer as ArrayBuffer) };
      } else {
        answer = { id: job.id, ...encodeJob(job) };
      }
    } catch (error) {
      answer = error instanceof RepackStopped ? { id: job.id, kind: 'repack', stopped: true } : { id: job.id, error: error instanceof Error ? error.message : String(error) };
    }
    const transfer = 'buffer' in answer ? [answer.buffer] : 'blob' in answer && answer.blob !== null ? [answer.blob] : [];
    port.postMessage(answer, transfer);
  });
  port.postMessage('ready');
}
