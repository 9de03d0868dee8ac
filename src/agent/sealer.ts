/**
 * Batch -> compress (wire-body.ts: brotli, or gzip) -> spool, in the order batches were cut.
 * Compression runs on libuv's thread pool (zlib's async API), so the next batch is read and
 * built while this one compresses.
 * Two bounds make reading pause (the tailer asks `hasRoom` between reads): the JSON bytes
 * being compressed or written, which bounds memory, and the spool's size limit, which is
 * checked again before every single record is appended, so the spool never grows past it
 * (an empty spool still takes one record of any size). A batch that finds the spool full
 * waits for Daniel to acknowledge older ones; nothing is ever dropped.
 */
import type { Batch } from './batcher.js';
import { encodeSpoolRecord, type SpoolRecordHeader } from './spool-record.js';
import type { Spool } from './spool.js';
import { sleep } from './sleep.js';
import type { AgentLog } from './events.js';
import { compressBody, type WireEncoding } from './wire-body.js';

export interface SealerOptions {
  spool: Spool;
  /** How batches are compressed; read for every batch (delivery turns it to gzip for an older Daniel). */
  wire: { encoding: WireEncoding };
  gzipLevel: number;
  /** Reading pauses while this many bytes of batch bodies are being compressed or written. */
  maxInFlightBytes: number;
  /** A record is in the spool (durably): it is delivery's now. */
  onSpooled: () => void;
  /** A batch left the pipeline or the spool made room: reading may go on. */
  onRoom: () => void;
  log: AgentLog;
}

/** Thrown inside the queue when the agent stops while a batch waits for room. */
class Abandoned extends Error {}

const RETRY_WRITE_MS = 1000;
const WRITE_FAIL_LOG_MS = 30_000;
export class Sealer {
  private queue: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private inFlightBytes = 0;
  private fullLogged = false;
  private lastWriteFailLogMs = 0;
  private readonly abandon = new AbortController();
  /** `spoolMs`: time spent appending (write + fdatasync), the cost of spooling every batch. */
  readonly stats = { batches: 0, spoolMs: 0 };

  constructor(private readonly options: SealerOptions) {}

  /** Room for another batch: nothing much in flight and the spool under its limit. */
  get hasRoom(): boolean {
    if (this.options.spool.isFull) {
      this.sayFull();
      return false;
    }
    return this.inFlightBytes < this.options.maxInFlightBytes;
  }

  /** No batch is being compressed or written. */
  get idle(): boolean {
    return this.inFlight === 0;
  }

  seal(batch: Batch, header: SpoolRecordHeader): void {
    const bytes = batch.body.length;
    this.inFlight++;
    this.inFlightBytes += bytes;
    this.stats.batches++;
    const zipped = compressBody(batch.body, this.options.wire.encoding, this.options.gzipLevel);
    // Awaited in turn below; this hands the body's buffer back and keeps an early failure from being "unhandled".
    void zipped.then(batch.release, batch.release);
    this.queue = this.queue
      .then(async () => this.append(encodeSpoolRecord(header, await zipped)))
      .catch((err: unknown) => {
        if (!(err instanceof Abandoned)) this.options.log('batch_lost', { error: (err as Error).message });
      })
      .finally(() => {
        this.inFlight--;
        this.inFlightBytes -= bytes;
        this.options.onRoom();
      });
  }

  /** Resolves once every batch sealed so far is in the spool (or abandoned). */
  drain(): Promise<void> {
    return this.queue;
  }

  /**
   * Stop waiting: batches not in the spool yet are dropped from memory. Their lines are
   * safe: checkpoints never cover lines that were not spooled and acknowledged, so the
   * next start reads them again.
   */
  abandonWaiting(): void {
    this.abandon.abort();
  }

  private async append(record: Buffer): Promise<void> {
    const { spool } = this.options;
    for (;;) {
      if (!spool.hasRoomFor(record.length)) {
        this.sayFull();
        await spool.waitForRoom(record.length, this.abandon.signal);
      }
      if (this.abandon.signal.aborted) throw new Abandoned();
      try {
        // process.hrtime, not performance.now(): the first use of the \`performance\` global
        // loads perf_hooks and its timing modules, about 0.8 MiB an agent keeps for good.
        const started = process.hrtime.bigint();
        await spool.append(record);
        this.stats.spoolMs += Number(process.hrtime.bigint() - started) / 1e6;
        if (this.lastWriteFailLogMs !== 0) {
          this.lastWriteFailLogMs = 0;
          this.options.log('spool_write_resumed');
        }
        if (!spool.isFull) this.fullLogged = false;
        this.options.onSpooled();
        return;
      } catch (err) {
        // A full disk or a read-only remount: later batches must not overtake this one, and
        // reading pauses while this batch holds its place (the in-flight bound).
        const now = Date.now();
        if (now - this.lastWriteFailLogMs >= WRITE_FAIL_LOG_MS) {
          this.lastWriteFailLogMs = now;
          this.options.log('spool_write_failed', { error: (err as Error).message, retry_ms: RETRY_WRITE_MS });
        }
        await sleep(RETRY_WRITE_MS, this.abandon.signal);
        if (this.abandon.signal.aborted) throw new Abandoned();
      }
    }
  }

  private sayFull(): void {
    if (this.fullLogged) return;
    this.fullLogged = true;
    const { spool } = this.options;
    this.options.log('spool_full', { spool_bytes: spool.sizeBytes, max: spool.maxBytes });
  }
}
