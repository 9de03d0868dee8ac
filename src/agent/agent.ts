/**
 * Henrik: wires tailer -> batcher -> (gzip) -> spool -> delivery -> checkpoints.
 * Every batch is fsynced to the spool before it is shipped; checkpoints advance only over
 * lines Daniel acknowledged, and the spool is released only behind a saved checkpoint. So
 * after any crash, a restart replays the spool and resumes each file after what was spooled:
 * nothing is lost, and whatever is sent twice Daniel recognises by (file id, offset).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Batcher, type Batch } from './batcher.js';
import { loadCheckpoints, saveCheckpoints, CHECKPOINT_VERSION, type FileCheckpoint } from './checkpoints.js';
import { Delivery } from './delivery.js';
import { defaultBackoff } from './retry.js';
import { Shipper } from './shipper.js';
import { encodeSpoolRecord, decodeSpoolRecord, type SpoolRecordHeader } from './spool-record.js';
import { Spool, comparePositions, type SpoolPosition } from './spool.js';
import { Tailer } from './tailer/tailer.js';
import type { FileStream } from './tailer/open-file.js';
import { createTimestampParser } from './timestamps.js';
import { Watcher } from './watcher.js';
import { agentDefaults, type AgentOptions } from './options.js';

export type { AgentOptions, AgentSource } from './options.js';

const gzipAsync = promisify(gzip);

export class Agent {
  readonly options: Required<Omit<AgentOptions, 'log' | 'parserFactory'>> & Pick<AgentOptions, 'log' | 'parserFactory'>;
  private readonly tailer: Tailer;
  private readonly batcher: Batcher;
  private readonly delivery: Delivery;
  private readonly watcher: Watcher;
  private sealQueue: Promise<void> = Promise.resolve();
  private sealing = 0;
  private acked: SpoolPosition;
  private timers: NodeJS.Timeout[] = [];
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private scanDue = true;
  private stopped = false;
  /** Read passes run on timers and watches only while tailing, not in `--once`. */
  private tailing = false;
  private spoolFullLogged = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  private roomWaiters: Array<() => void> = [];
  /** `spoolMs`: time spent appending (write + fdatasync) to the spool, the cost of spooling every batch. */
  readonly stats = { linesRead: 0, bytesRead: 0, batches: 0, spoolMs: 0 };

  private constructor(
    options: AgentOptions,
    private readonly spool: Spool,
    known: FileStream[],
    acked: SpoolPosition,
    pendingRecords: number,
  ) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...agentDefaults, ...given } as Agent['options'];
    this.acked = acked;
    const o = this.options;
    this.batcher = new Batcher(
      { host: o.host, maxLines: o.batchMaxLines, maxBytes: o.batchMaxBytes, flushIntervalMs: o.flushIntervalMs },
      (batch) => this.seal(batch),
    );
    this.tailer = new Tailer(
      {
        sources: o.sources.map((s) => ({
          paths: s.paths,
          exclude: s.exclude ?? [],
          multiline: s.multiline,
          parser: (o.parserFactory ?? createTimestampParser)({ timezone: s.timezone }),
        })),
        maxLineBytes: o.maxLineBytes,
        readChunkBytes: o.readChunkBytes,
        orphanIdleMs: o.orphanIdleMs,
        copyGraceMs: o.copyGraceMs,
        copyWindowMs: o.copyWindowMs,
        forgetAfterMs: o.forgetAfterMs,
        emit: (stream, line, size) => {
          this.stats.linesRead++;
          this.stats.bytesRead += line.end - line.offset;
          this.batcher.add({ fileId: stream.id, filename: stream.filename, path: stream.path, size }, line);
        },
        canRead: () => this.hasRoom(),
        onIdentitiesChanged: () => void this.saveCheckpoints(),
        log: (m) => this.log(m),
        cwd: o.cwd,
      },
      known,
    );
    this.delivery = new Delivery({
      spool,
      shipper: new Shipper({ server: o.server, token: o.token, timeoutMs: o.requestTimeoutMs }),
      stateDir: o.stateDir,
      backoff: o.backoff,
      giveUpAfterMs: o.once ? o.onceGiveUpMs : undefined,
      onDone: (header, position) => this.onDone(header, position),
      log: (m) => this.log(m),
    });
    this.delivery.pending = pendingRecords;
    this.watcher = new Watcher(() => this.kick());
  }

  /** Loads checkpoints, opens the spool and learns what it still holds. */
  static async create(options: AgentOptions): Promise<Agent> {
    await mkdir(options.stateDir, { recursive: true });
    const log = options.log ?? (() => {});
    const checkpoints = await loadCheckpoints(path.join(options.stateDir, 'checkpoints.json'));
    const spool = await Spool.open(path.join(options.stateDir, 'spool'), {
      maxBytes: options.spoolMaxBytes ?? agentDefaults.spoolMaxBytes,
      releasedUpTo: checkpoints.spool,
      log,
    });
    const streams = new Map<string, FileStream>(checkpoints.files.map((f) => [f.id, fromCheckpoint(f)]));
    let pending = 0;
    for (let record = await spool.next(); record !== undefined; record = await spool.next()) {
      pending++;
      for (const f of decodeSpoolRecord(record.payload).header.files) {
        const known = streams.get(f.fileId);
        const stream: FileStream = known ?? {
          id: f.fileId,
          filename: f.filename,
          path: f.path,
          sourceIndex: f.sourceIndex,
          dev: f.dev,
          ino: f.ino,
          prefixLength: f.prefixLength,
          prefixHash: f.prefixHash,
          ackedOffset: 0,
          readEnd: 0,
        };
        stream.readEnd = Math.max(stream.readEnd, f.end);
        stream.lastTimestamp = BigInt(f.lastTimestamp);
        streams.set(stream.id, stream);
      }
    }
    spool.rewind();
    if (pending > 0) log(`records=${pending} bytes=${spool.sizeBytes}: replaying the spool`);
    return new Agent(options, spool, [...streams.values()], checkpoints.spool, pending);
  }

  /** `dev:ino` -> bytes read, for the files open now (tests). */
  readPositions(): Map<string, number> {
    return this.tailer.readPositions();
  }

  /** Tails until stop(): scans, polls and watches. */
  start(): void {
    const o = this.options;
    this.log(`host=${o.host} server=${o.server} state=${o.stateDir} watching=${o.sources.flatMap((s) => s.paths).join(',')}: started`);
    this.tailing = true;
    this.delivery.start();
    this.timers.push(setInterval(() => this.kick(true), o.scanIntervalMs));
    this.timers.push(setInterval(() => this.kick(), o.pollIntervalMs));
    this.timers.push(setInterval(() => this.summary(), o.summaryIntervalMs));
    this.kick(true);
  }

  /** `--once`: everything to its current end, shipped and acknowledged. Exit code: 0 or 1. */
  async once(): Promise<number> {
    const o = this.options;
    this.log(`host=${o.host} server=${o.server} state=${o.stateDir} watching=${o.sources.flatMap((s) => s.paths).join(',')}: reading once`);
    this.delivery.start();
    const progress = setInterval(() => this.progress(), o.progressIntervalMs);
    try {
      await this.tailer.scan();
      while ((await this.tailer.readAvailable()) === 'blocked') {
        if (this.delivery.failure !== undefined) break;
        await this.waitForRoom();
      }
      this.tailer.finishAll();
      this.batcher.flush();
      await this.sealQueue;
      await this.delivery.waitIdle();
    } finally {
      clearInterval(progress);
    }
    await this.delivery.stop();
    await this.saveCheckpoints();
    await this.close();
    const { deliveredLines, duplicateLines, rejectedLines, failure } = this.delivery;
    this.log(`lines=${deliveredLines} duplicates=${duplicateLines} rejected=${rejectedLines}: done`);
    return failure !== undefined || rejectedLines > 0 ? 1 : 0;
  }

  /** SIGTERM/SIGINT: stop reading, flush, wait a bounded time for acknowledgements, save. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    await this.reading;
    this.batcher.flush();
    await this.sealQueue;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.delivery.waitIdle(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.stopTimeoutMs))),
    ]);
    clearTimeout(timer);
    await this.delivery.stop();
    await this.saveCheckpoints();
    await this.close();
    this.log(`lines=${this.delivery.deliveredLines} unacknowledged_batches=${this.delivery.pending}: stopped`);
  }

  /** Like `kill -9` as far as state goes: nothing flushed or saved (tests). */
  async abort(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.reading;
    this.batcher.stop();
    await this.sealQueue;
    await this.delivery.stop();
    await this.checkpointChain;
    await this.close();
  }

  private async close(): Promise<void> {
    this.watcher.close();
    await this.tailer.close();
    await this.spool.close();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
    this.batcher.stop();
  }

  /** Schedules a read pass (after a scan when `scan`); passes never overlap. */
  private kick(scan = false): void {
    if (this.stopped || !this.tailing) return;
    if (scan) this.scanDue = true;
    if (this.reading !== undefined) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readPass()
      .catch((err: unknown) => this.log(`read pass failed: ${(err as Error).message}`))
      .finally(() => (this.reading = undefined));
  }

  private async readPass(): Promise<void> {
    do {
      this.readAgain = false;
      if (this.scanDue) {
        this.scanDue = false;
        await this.tailer.scan();
        this.watcher.watch(this.tailer.directories);
      } else {
        await this.tailer.poll();
      }
      await this.tailer.readAvailable();
    } while (this.readAgain && !this.stopped);
  }

  private hasRoom(): boolean {
    if (this.spool.isFull) {
      if (!this.spoolFullLogged) {
        this.spoolFullLogged = true;
        this.log(`spool_bytes=${this.spool.sizeBytes} max=${this.options.spoolMaxBytes}: spool full, reading paused until Daniel catches up (nothing is dropped)`);
      }
      return false;
    }
    this.spoolFullLogged = false;
    return this.sealing < 2;
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private roomMade(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
    this.kick();
  }

  /** Batch -> gzip -> spool, in order. The identity goes along so a restart can resume. */
  private seal(batch: Batch): void {
    this.sealing++;
    this.stats.batches++;
    const header: SpoolRecordHeader = {
      lines: batch.lines,
      files: batch.files.map((f) => {
        const s = this.tailer.streams.get(f.fileId);
        return { ...f, sourceIndex: s?.sourceIndex ?? 0, dev: s?.dev ?? 0, ino: s?.ino ?? 0, prefixLength: s?.prefixLength ?? 0, prefixHash: s?.prefixHash ?? '' };
      }),
    };
    const zipped = gzipAsync(batch.body, { level: this.options.gzipLevel });
    this.sealQueue = this.sealQueue
      .then(async () => {
        const record = encodeSpoolRecord(header, await zipped);
        const started = performance.now();
        await this.spool.append(record);
        this.stats.spoolMs += performance.now() - started;
        this.delivery.pending++;
      })
      .catch((err: unknown) => this.log(`spool write failed: ${(err as Error).message}; lines will be read again`))
      .finally(() => {
        this.sealing--;
        this.roomMade();
      });
  }

  private onDone(header: SpoolRecordHeader, position: SpoolPosition): void {
    for (const f of header.files) {
      const stream = this.tailer.streams.get(f.fileId);
      if (stream === undefined || f.end <= stream.ackedOffset) continue;
      stream.ackedOffset = f.end;
      stream.ackedTimestamp = f.lastTimestamp;
    }
    if (comparePositions(position, this.acked) > 0) this.acked = position;
    if (this.checkpointTimer === undefined && !this.stopped) {
      this.checkpointTimer = setTimeout(() => {
        this.checkpointTimer = undefined;
        void this.saveCheckpoints();
      }, this.options.checkpointIntervalMs);
    }
    if (this.spool.isFull) this.roomMade();
  }

  /** Saves soon; a save already waiting to start covers this request too. */
  private saveCheckpoints(): Promise<void> {
    if (this.saveQueued !== undefined) return this.saveQueued;
    let started = false;
    const run = this.checkpointChain.then(async () => {
      started = true;
      this.saveQueued = undefined;
      const acked = { ...this.acked };
      const files = [...this.tailer.streams.values()].map(toCheckpoint);
      await saveCheckpoints(path.join(this.options.stateDir, 'checkpoints.json'), { version: CHECKPOINT_VERSION, spool: acked, files });
      await this.spool.release(acked);
    });
    this.checkpointChain = run.catch((err: unknown) => this.log(`checkpoint save failed: ${(err as Error).message}`));
    if (!started) this.saveQueued = this.checkpointChain;
    return this.checkpointChain;
  }

  private saveQueued: Promise<void> | undefined;

  private summary(): void {
    const shipped = this.delivery.deliveredLines;
    const last = this.lastSummary;
    this.lastSummary = { lines: shipped, at: Date.now() };
    if (shipped === last.lines) return;
    const rate = Math.round(((shipped - last.lines) * 1000) / Math.max(1, Date.now() - last.at));
    this.log(`lines=${shipped} lines_per_s=${rate} spool_mib=${(this.spool.sizeBytes / 1048576).toFixed(1)} files=${this.tailer.openFiles}: shipping`);
  }

  private lastSummary = { lines: 0, at: Date.now() };

  private progress(): void {
    const left = this.tailer.unreadBytes;
    this.log(`read_mib=${(this.stats.bytesRead / 1048576).toFixed(1)} left_mib=${(left / 1048576).toFixed(1)} shipped_lines=${this.delivery.deliveredLines}: backfill`);
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}

function fromCheckpoint(f: FileCheckpoint): FileStream {
  return {
    ...f,
    ackedOffset: f.offset,
    ackedTimestamp: f.lastTimestamp,
    readEnd: f.offset,
    lastTimestamp: f.lastTimestamp !== undefined ? BigInt(f.lastTimestamp) : undefined,
  };
}

function toCheckpoint(s: FileStream): FileCheckpoint {
  const checkpoint: FileCheckpoint = {
    id: s.id,
    path: s.path,
    filename: s.filename,
    sourceIndex: s.sourceIndex,
    dev: s.dev,
    ino: s.ino,
    prefixLength: s.prefixLength,
    prefixHash: s.prefixHash,
    offset: s.ackedOffset,
  };
  if (s.ackedTimestamp !== undefined) checkpoint.lastTimestamp = s.ackedTimestamp;
  if (s.detachedAtMs !== undefined) checkpoint.detachedAtMs = s.detachedAtMs;
  if (s.detachReason !== undefined) checkpoint.detachReason = s.detachReason;
  if (s.seenAtMs !== undefined) checkpoint.seenAtMs = s.seenAtMs;
  return checkpoint;
}

export { defaultBackoff };
