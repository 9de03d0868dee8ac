/**
 * A worker thread that prepares the text of an append's runs (their bloom and compressed text,
 * segment/codec.ts `prepareText`) while the main thread goes on: it parses and checks the
 * next requests meanwhile, and the append's transaction then only writes the columns. On
 * Daniel's ingest path these two were over half of the main thread's time, and an append's
 * transaction runs on the main thread alone.
 *
 * The prepared texts are a hint, never a dependency: an append whose texts are not ready
 * (the worker is still starting, failed, or the store runs without it) or do not fit the
 * runs the transaction writes (duplicates left out, a run merged with earlier lines) is
 * encoded inline, as before. A worker that fails or exits is not replaced; what it held is
 * encoded inline.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../common/module-worker.js';
import type { PreparedText } from '../../segment/codec.js';
import { transferableCopy } from '../../common/transfer.js';
import type { EncodeAnswer, EncodeJob, RepackJob } from './encode-worker.js';

/** Runs' texts end to end in one buffer of their own (its whole ArrayBuffer is handed to the worker). */
export interface TextsToPrepare {
  buffer: Buffer;
  /** Per run: its text's bytes, its lines, whether it is all ASCII. */
  lengths: number[];
  lineCounts: number[];
  ascii: boolean[];
}

/**
 * A small young generation: each job leaves a few MiB of buffers behind (the compressed output,
 * the bloom, the answer), held outside the heap until a collection frees their wrappers; small
 * scavenges, often, keep that from adding up in Daniel's resident memory.
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 };

function startWorker(background: boolean, stop: SharedArrayBuffer): Worker {
  return startModuleWorker(import.meta.url, 'encode-worker', { resourceLimits: RESOURCE_LIMITS, workerData: { background, stop } });
}

interface Pending {
  texts: TextsToPrepare;
  resolve: (prepared: (PreparedText | undefined)[]) => void;
}

export class EncodePool {
  private worker: Worker | undefined;
  private running = false;
  private broken = false;
  private markSettled: () => void = () => undefined;
  /** Settles once the worker runs, or has failed. */
  private readonly settled = new Promise<void>((resolve) => (this.markSettled = resolve));
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Repacks waiting for the worker: background work, which never holds the process open. */
  private readonly repacks = new Map<number, (blob: Buffer | null | 'stopped' | 'failed' | undefined) => void>();
  /** Texts prepared by the worker so far (tests and diagnostics). */
  prepared = 0;

  /**
   * `background`: the worker runs at the lowest scheduling priority (nice 19, on Linux), for work
   * nobody waits on (the repacker): any other thread that wants a core gets it first.
   */
  constructor(private readonly background = false) {}

  /** Non-zero: the repack in the worker stops at its next chunk (interruptRepack). */
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));

  /** Something else wants the cores: a repack running in the worker stops within a chunk, answering 'stopped'. */
  interruptRepack(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  /** Starts the worker (lazily, on the first append that could use it). */
  private start(): void {
    if (this.worker !== undefined || this.broken) return;
    const worker = startWorker(this.background, this.stopFlag.buffer);
    this.worker = worker;
    worker.on('message', (answer: EncodeAnswer | 'ready') => {
      if (answer === 'ready') {
        this.running = true;
        this.markSettled();
        if (this.pending.size === 0) worker.unref();
      } else {
        this.settle(answer);
      }
    });
    worker.on('error', () => this.fail());
    worker.on('exit', () => this.fail());
    worker.unref();
  }

  /** Resolves once the worker runs (or has failed): tests that want the prepared path taken. */
  async ready(): Promise<void> {
    this.start();
    await this.settled;
  }

  /** Whether prepare() would hand work to the worker now (it starts the worker if need be). */
  get available(): boolean {
    this.start();
    return this.running;
  }

  /**
   * The texts prepared, in order; an entry is undefined when the worker could not do it. Never
   * rejects, and answers at once (all undefined) while the worker is not running. `texts.buffer`
   * is handed over: the caller must not use it afterwards.
   */
  prepare(texts: TextsToPrepare): Promise<(PreparedText | undefined)[]> {
    this.start();
    const worker = this.worker;
    const none = (): (PreparedText | undefined)[] => texts.lengths.map(() => undefined);
    if (!this.running || worker === undefined || texts.lengths.length === 0) return Promise.resolve(none());
    const { lengths, lineCounts, ascii } = texts;
    const job: EncodeJob = { id: this.nextId++, buffer: texts.buffer.buffer as ArrayBuffer, lengths, lineCounts, ascii };
    return new Promise((resolve) => {
      this.pending.set(job.id, { texts, resolve });
      if (this.pending.size === 1) worker.ref(); // an append waits on it
      worker.postMessage(job, [job.buffer]);
    });
  }

  /**
   * `blob` (a segment's stored data) compressed again at `level` (segment/compression.ts
   * `repackBlob`): the new blob; null when that would not be smaller; 'stopped' when
   * interruptRepack stopped it; 'failed' when the blob could not be repacked (it does not
   * decode); undefined when it was not done (the worker is not running, or failed). Never rejects.
   */
  async repack(blob: Buffer, level: number): Promise<Buffer | null | 'stopped' | 'failed' | undefined> {
    this.start();
    await this.settled;
    const worker = this.worker;
    if (!this.running || worker === undefined) return undefined;
    // A copy of its own, handed over: postMessage would otherwise clone whatever buffer the blob is a view of.
    const job: RepackJob = { id: this.nextId++, kind: 'repack', blob: new Uint8Array(transferableCopy([blob])), level };
    Atomics.store(this.stopFlag, 0, 0);
    return new Promise((resolve) => {
      this.repacks.set(job.id, resolve);
      worker.postMessage(job, [job.blob.buffer as ArrayBuffer]);
    });
  }

  private settle(answer: EncodeAnswer): void {
    const repacked = this.repacks.get(answer.id);
    if (repacked !== undefined) {
      this.repacks.delete(answer.id);
      repacked('stopped' in answer ? 'stopped' : 'error' in answer || !('blob' in answer) ? 'failed' : answer.blob === null ? null : Buffer.from(answer.blob));
      return;
    }
    const waiting = this.pending.get(answer.id);
    if (waiting === undefined) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (!('blooms' in answer)) {
      waiting.resolve(waiting.texts.lengths.map(() => undefined));
      return;
    }
    const bytes = Buffer.from(answer.buffer);
    const { lengths, lineCounts, ascii } = waiting.texts;
    let at = 0;
    waiting.resolve(
      lengths.map((length, i) => {
        // The bloom is kept (caches hold it): a copy of its own, not a view of the whole answer.
        const bloom = Buffer.from(bytes.subarray(at, (at += answer.blooms[i]!)));
        const packed = bytes.subarray(at, (at += answer.packed[i]!));
        this.prepared++;
        return { lineCount: lineCounts[i]!, textBytes: length, ascii: ascii[i]!, bloom, packed };
      }),
    );
  }

  private fail(): void {
    this.broken = true;
    this.running = false;
    this.markSettled();
    for (const waiting of this.pending.values()) waiting.resolve(waiting.texts.lengths.map(() => undefined));
    this.pending.clear();
    for (const resolve of this.repacks.values()) resolve(undefined);
    this.repacks.clear();
  }

  async close(): Promise<void> {
    this.broken = true;
    this.running = false;
    const worker = this.worker;
    this.worker = undefined;
    this.fail();
    if (worker !== undefined) await worker.terminate();
  }
}
