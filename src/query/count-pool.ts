/**
 * Worker threads that decompress and count segments beside the main thread, for queries that
 * count every match (the histogram); and that decompress, or decompress and filter down to a
 * query's matches, the segments a long search reads ahead (segment-load.ts). Decompression is most of that work (inflate at ~1 GB/s
 * of text), and segments are independent, so a second core nearly halves it.
 *
 * Why threads and not zlib's async API: that path was measured slower on 2 cores (its stream
 * objects and callbacks cost the main thread more than the second core saved). Here a job
 * carries many blobs in one transferred buffer, one message each way, and the main thread
 * keeps counting segments itself while the workers are busy: it sees each worker's progress
 * in shared memory without waiting for a message, so it hands a worker a job only when the
 * worker has room, and the split follows whatever share of a core each side really gets.
 *
 * Workers start lazily (on the first query that could use them) and are given work only once
 * they are running, so no query waits for one to start. A worker that fails or exits is
 * dropped; the blobs it held are counted on the main thread, so answers never depend on it.
 * Idle workers do not keep the process alive; `close()` ends them.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../common/module-worker.js';
import type { Matcher } from './types.js';
import { transferableCopy } from '../common/transfer.js';
import type { CountAnswer, CountJob, CountWorkerData, FilterJob, InflateJob } from './count-worker.js';

/** Jobs queued on one worker at most: one running, one waiting, so it never idles between them. */
const MAX_QUEUED_JOBS = 2;
/** The same for a search's filter jobs, each one segment: a walk reads ahead more of them (segment-search.ts). */
const MAX_QUEUED_FILTER_JOBS = 4;
/** Compressed bytes per job (~1 MB of text, ~1 ms of work): message costs stay a few percent. */
const DEFAULT_JOB_BYTES = 160 << 10;
/** Raw bytes a query counts on its own first: a query touching a few segments never waits on a message. */
export const DEFAULT_MIN_POOL_BYTES = 2 << 20;
/** Shared slots: [jobs finished, ready flag]. */
const FINISHED = 0;
const READY = 1;

/** One worker beyond the main thread per spare core, at most 3. */
export function defaultCountWorkers(): number {
  return Math.max(0, Math.min(3, availableParallelism() - 1));
}

function startWorker(workerData: CountWorkerData): Worker {
  return startModuleWorker(import.meta.url, 'count-worker', { workerData });
}

interface Pending {
  resolve: (answer: number[] | ArrayBuffer) => void;
  reject: (error: Error) => void;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly shared: Int32Array;
  /** Jobs handed out (open or sent) and not yet released. */
  private claimed = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  broken = false;
  private markStarted: () => void = () => undefined;
  /** Settles once the worker takes jobs, or is gone. */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor() {
    const progress = new SharedArrayBuffer(8);
    this.shared = new Int32Array(progress);
    // Referenced while starting (someone may await `started`) and while a job is out; idle, it lets the process exit.
    this.worker = startWorker({ progress });
    this.worker.on('message', (answer: CountAnswer | 'ready') => (answer === 'ready' ? this.onStarted() : this.settle(answer)));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`The count worker exited (code ${code}).`)));
  }

  private onStarted(): void {
    if (this.pending.size === 0) this.worker.unref();
    this.markStarted();
  }

  /** True when running and fewer than `queued` of its jobs are unfinished (read from shared memory, no waiting). */
  hasRoom(queued = MAX_QUEUED_JOBS): boolean {
    return !this.broken && Atomics.load(this.shared, READY) === 1 && this.claimed - Atomics.load(this.shared, FINISHED) < queued;
  }

  claim(): void {
    this.claimed++;
  }

  /** An open job that will not be sent after all. */
  release(): void {
    this.claimed--;
  }

  submit(matchers: Matcher[], blobs: readonly Buffer[], ascii: boolean[]): Promise<number[]> {
    if (this.broken) return Promise.reject(new Error('The count worker is gone.'));
    const job: CountJob = { id: this.nextId++, matchers, buffer: transferableCopy(blobs), lengths: blobs.map((b) => b.length), ascii };
    return this.send(job, job.buffer) as Promise<number[]>;
  }

  /** One blob's payload, decompressed on the worker (the job is claimed already). */
  inflate(blob: Buffer): Promise<Buffer> {
    if (this.broken) return Promise.reject(new Error('The count worker is gone.'));
    const job: InflateJob = { id: this.nextId++, inflate: transferableCopy([blob]) };
    return (this.send(job, job.inflate) as Promise<ArrayBuffer>).then((payload) => Buffer.from(payload));
  }

  /** The payload of a blob's lines `matchers` match, filtered on the worker (the job is claimed already); empty when none does. */
  filter(blob: Buffer, ascii: boolean, matchers: readonly Matcher[]): Promise<Buffer> {
    if (this.broken) return Promise.reject(new Error('The count worker is gone.'));
    const job: FilterJob = { id: this.nextId++, filter: transferableCopy([blob]), ascii, matchers: [...matchers] };
    return (this.send(job, job.filter) as Promise<ArrayBuffer>).then((payload) => Buffer.from(payload));
  }

  private send(job: CountJob | InflateJob | FilterJob, transfer: ArrayBuffer): Promise<number[] | ArrayBuffer> {
    const answer = new Promise<number[] | ArrayBuffer>((resolve, reject) => this.pending.set(job.id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref(); // a caller awaits it: keep the process alive until it answers
    this.worker.postMessage(job, [transfer]);
    return answer;
  }

  private settle(answer: CountAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (waiting === undefined) return;
    this.pending.delete(answer.id);
    if (this.pending.size === 0) this.worker.unref();
    if ('error' in answer) waiting.reject(new Error(answer.error));
    else waiting.resolve('payload' in answer ? answer.payload : answer.counts);
  }

  private fail(error: Error): void {
    this.broken = true;
    this.markStarted();
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.worker.terminate();
  }
}

export interface CountPoolOptions {
  /** Worker threads (default: one per spare core, at most 3); 0 counts everything on the main thread. */
  workers?: number;
  /** Raw bytes a query counts itself before it hands segments out (default 2 MiB). */
  minBytes?: number;
  /** Compressed bytes of blobs per job (default 160 KiB); tests make it tiny so jobs interleave with counting here. */
  jobBytes?: number;
  /** Tests: every query first waits for the workers to run, so the worker path is always taken. */
  waitForWorkers?: boolean;
}

export class CountPool {
  private workers: PoolWorker[] | undefined;
  private closed = false;
  private readonly size: number;
  readonly minBytes: number;
  readonly jobBytes: number;
  readonly waitForWorkers: boolean;
  /** Blobs handed to workers so far to count (tests and diagnostics). */
  handedOut = 0;
  /** Blobs handed to workers so far to decompress for a search (tests and diagnostics). */
  inflated = 0;
  /** Blobs handed to workers so far to decompress and filter for a search (tests and diagnostics). */
  filtered = 0;

  constructor(options: CountPoolOptions = {}) {
    this.size = options.workers ?? defaultCountWorkers();
    this.minBytes = options.minBytes ?? DEFAULT_MIN_POOL_BYTES;
    this.jobBytes = options.jobBytes ?? DEFAULT_JOB_BYTES;
    this.waitForWorkers = options.waitForWorkers ?? false;
  }

  private start(): PoolWorker[] {
    if (this.closed || this.size === 0) return [];
    this.workers ??= Array.from({ length: this.size }, () => new PoolWorker());
    return this.workers;
  }

  /** Starts the workers; settles once each runs (or has failed). */
  async ready(): Promise<void> {
    await Promise.all(this.start().map((worker) => worker.started));
  }

  /** A running worker with room for a job now; starts the workers on first call. */
  workerWithRoom(queued = MAX_QUEUED_JOBS): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const worker of this.start()) if (worker.hasRoom(queued)) best = worker;
    return best;
  }

  /**
   * A segment blob's payload decompressed on a worker with room now (the job counts against
   * that room until done); undefined when none has room (or none runs yet: this starts them),
   * and the caller decompresses it itself. Rejects when the worker fails.
   */
  inflate(blob: Buffer): Promise<Buffer> | undefined {
    const worker = this.workerWithRoom();
    if (worker === undefined) return undefined;
    worker.claim();
    this.inflated++;
    return worker.inflate(blob);
  }

  /**
   * The payload of only the lines of a segment blob that `matchers` match, decompressed and
   * filtered on a worker with room now (empty when no line matches); undefined when none has
   * room, as for `inflate`. Rejects when the worker fails.
   */
  filter(blob: Buffer, ascii: boolean, matchers: readonly Matcher[]): Promise<Buffer> | undefined {
    const worker = this.workerWithRoom(MAX_QUEUED_FILTER_JOBS);
    if (worker === undefined) return undefined;
    worker.claim();
    this.filtered++;
    return worker.filter(blob, ascii, matchers);
  }

  /** A batcher for one query's segments. */
  batcher<T>(matchers: readonly Matcher[]): CountBatcher<T> {
    return new CountBatcher<T>(this, [...matchers]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(workers.map((worker) => worker.close()));
  }
}

interface Job<T> {
  blobs: Buffer[];
  ascii: boolean[];
  tags: T[];
  bytes: number;
  worker: PoolWorker;
  answer?: Promise<number[]>;
}

/**
 * One query's share of the pool: `offer` hands a segment's blob to a worker when one has room
 * (false: count it yourself), `finish` gives every handed-out segment's count with its tag.
 */
export class CountBatcher<T> {
  private open: Job<T> | undefined;
  private readonly sent: Job<T>[] = [];
  private offeredBytes = 0;

  constructor(
    private readonly pool: CountPool,
    private readonly matchers: Matcher[],
  ) {}

  /** `rawBytes`: the segment's text size, for the threshold below which a query keeps its work. */
  offer(blob: Buffer, ascii: boolean, rawBytes: number, tag: T): boolean {
    if (this.open === undefined) {
      if (this.offeredBytes < this.pool.minBytes) {
        this.offeredBytes += rawBytes;
        return false;
      }
      const worker = this.pool.workerWithRoom();
      if (worker === undefined) return false;
      worker.claim();
      this.open = { blobs: [], ascii: [], tags: [], bytes: 0, worker };
    }
    const job = this.open;
    job.blobs.push(blob);
    job.ascii.push(ascii);
    job.tags.push(tag);
    job.bytes += blob.length;
    if (job.bytes >= this.pool.jobBytes) this.flush();
    return true;
  }

  private flush(): void {
    const job = this.open;
    if (job === undefined) return;
    this.open = undefined;
    this.pool.handedOut += job.blobs.length;
    job.answer = job.worker.submit(this.matchers, job.blobs, job.ascii);
    // Awaited in finish(). The blobs are kept only until the worker answers: a failure falls back to counting them here.
    job.answer.then(
      () => (job.blobs.length = 0),
      () => undefined,
    );
    this.sent.push(job);
  }

  /** Every segment handed out, with its count; `countHere` counts the blobs of a job whose worker failed. */
  async finish(countHere: (blob: Buffer, ascii: boolean) => number): Promise<{ tag: T; count: number }[]> {
    this.flush();
    const out: { tag: T; count: number }[] = [];
    for (const job of this.sent) {
      let counts: number[];
      try {
        counts = await job.answer!;
      } catch {
        counts = job.blobs.map((blob, i) => countHere(blob, job.ascii[i]!));
      }
      job.tags.forEach((tag, i) => out.push({ tag, count: counts[i]! }));
    }
    this.sent.length = 0;
    return out;
  }

  /** Gives back a job never sent (the query stopped early); sent jobs finish on their own. */
  abandon(): void {
    this.open?.worker.release();
    this.open = undefined;
  }
}
