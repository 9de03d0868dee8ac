/**
 * The worker side of EncodePool (encode-pool.ts): the bloom and the compression of runs' text,
 * which are most of what encoding a segment costs (segment/codec.ts `prepareText`).
 *
 * A job is one message: the texts end to end in one transferred buffer, with their lengths,
 * line counts and ASCII flags. The answer is, per text, its bloom and its packed bytes, in
 * one transferred buffer with their lengths (or the error).
 */
import { parentPort } from 'node:worker_threads';
import { prepareText } from '../../segment/codec.js';
import { repackBlob } from '../../segment/compression.js';
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

const port = parentPort;
if (port !== null) {
  port.on('message', (job: EncodeJob | RepackJob) => {
    let answer: EncodeAnswer;
    try {
      if ('kind' in job) {
        const repacked = repackBlob(Buffer.from(job.blob.buffer, job.blob.byteOffset, job.blob.byteLength), job.level);
        answer = { id: job.id, kind: 'repack', blob: repacked === undefined ? null : transferableCopy([repacked]) };
      } else {
        answer = { id: job.id, ...encodeJob(job) };
      }
    } catch (error) {
      answer = { id: job.id, error: error instanceof Error ? error.message : String(error) };
    }
    const transfer = 'buffer' in answer ? [answer.buffer] : 'blob' in answer && answer.blob !== null ? [answer.blob] : [];
    port.postMessage(answer, transfer);
  });
  port.postMessage('ready');
}
