/**
 * Henrik: wires tailer -> batcher -> sealer (gzip, spool) -> delivery -> checkpointer.
 * Every batch is fsynced to the spool before it is shipped; checkpoints advance only over
 * lines Daniel acknowledged, and the spool is released only behind a saved checkpoint. So
 * after any crash, a restart replays the spool and resumes each file after what was spooled:
 * nothing is lost, and whatever is sent twice Daniel recognises by (file id, offset).
 *
 * Batches are cut at the line/byte bounds, on the flush timer, and as soon as the reader
 * has caught up with every file while nothing is on its way to Daniel: one line written
 * to an idle file leaves at once, and under load lines gather while the previous batch is
 * compressed, spooled and shipped (the timer stays the upper bound).
 */
import path from 'node:path';
import { Batcher, type Batch } from './batcher.js';
import { Checkpointer } from './checkpointer.js';
import { DeadLetters } from './dead-letter.js';
import { Delivery } from './delivery.js';
import type { AgentLog } from './events.js';
import { agentDefaults, type AgentOptions } from './options.js';
import { recoverState, type RecoveredState } from './recovery.js';
import { defaultBackoff } from './retry.js';
import { zstdAvailable, type SharedWire } from './wire-body.js';
import { Sealer } from './sealer.js';
import { Shipper } from './shipper.js';
import type { SpoolRecordHeader } from './spool-record.js';
import type { Spool, SpoolPosition } from './spool.js';
import type { AgentInput, InputHost } from './input.js';
import { JournalInput, journalKey } from './journal/journal-input.js';
import { StdinInput } from './stdin.js';
import { Tailer } from './tailer/tailer.js';
import type { FileStream } from './tailer/open-file.js';
import { createTimestampParser } from './timestamps.js';

export type { AgentOptions, AgentSource } from './options.js';

type Unresolved = 'log' | 'parserFactory' | 'stdin' | 'journalctl';
type ResolvedOptions = Required<Omit<AgentOptions, Unresolved>> & Pick<AgentOptions, Unresolved>;

export class Agent {
  readonly options: ResolvedOptions;
  private readonly tailer: Tailer;
  private readonly batcher: Batcher;
  private readonly sealer: Sealer;
  private readonly delivery: Delivery;
  private readonly checkpointer: Checkpointer;
  /** The journal and stdin: inputs that are not tailed files. */
  private readonly inputs: AgentInput[];
  private timers: NodeJS.Timeout[] = [];
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private scanDue = true;
  private stopped = false;
  /** Read passes run on timers and watches only while tailing, not in `--once`. */
  private tailing = false;
  /** The last read pass reached the end of every file. */
  private caughtUp = false;
  private roomWaiters: Array<() => void> = [];
  private readonly readStats = { linesRead: 0, bytesRead: 0 };
  private readonly deadLetters: DeadLetters;
  private fail: (reason: string) => void = () => {};
  /**
   * Resolves with the reason if delivery ever stops for good while tailing (the ship loop
   * broke, e.g. on a corrupt spool record): the process should exit non-zero, so that a
   * supervisor restarts it and the restart resumes from what is safe.
   */
  readonly failed: Promise<string> = new Promise((resolve) => (this.fail = resolve));

  private constructor(
    options: AgentOptions,
    private readonly spool: Spool,
    known: FileStream[],
    acked: SpoolPosition,
    pendingRecords: number,
    inputState: RecoveredState['inputs'] = { acked: {}, resume: {} },
  ) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...agentDefaults, ...given } as ResolvedOptions;
    const o = this.options;
    // The one-file builds carry no native addon: there the default (zstd) is brotli. Batches are
    // binary until a Daniel answers 415 to one (delivery.ts turns `format` to json).
    const wire: SharedWire = { encoding: o.compression === 'zstd' && !zstdAvailable() ? ('br' as const) : o.compression, format: 'binary' };
    this.batcher = new Batcher(
      { host: o.host, maxLines: o.batchMaxLines, maxBytes: o.batchMaxBytes, flushIntervalMs: o.flushIntervalMs, wire },
      (batch) => this.seal(batch),
    );
    this.sealer = new Sealer({
      spool,
      wire,
      gzipLevel: o.gzipLevel,
      maxInFlightBytes: 2 * o.batchMaxBytes,
      onSpooled: () => this.delivery.pending++,
      onRoom: () => this.roomMade(),
      log: this.log,
    });
    this.tailer = new Tailer(
      {
        sources: o.sources.map((s) => ({
          paths: s.paths,
          exclude: s.exclude ?? [],
          ...(s.followSymlinks === true ? { followSymlinks: true } : {}),
          multiline: s.multiline,
          labels: s.labels,
          parser: (o.parserFactory ?? createTimestampParser)({ timezone: s.timezone }),
        })),
        maxLineBytes: o.maxLineBytes,
        readChunkBytes: o.readChunkBytes,
        orphanIdleMs: o.orphanIdleMs,
        // `--once` reads what is there and ends: no truncation will come for a copy of an intact
        // file to wait for, and a copy still waiting when the run ended was never read at all.
        copyGraceMs: o.once ? 0 : o.copyGraceMs,
        copyWindowMs: o.copyWindowMs,
        forgetAfterMs: o.forgetAfterMs,
        emit: (stream, line, size) => {
          this.readStats.linesRead++;
          this.readStats.bytesRead += line.end - line.offset;
          this.batcher.add(stream, line, size);
        },
        canRead: () => this.sealer.hasRoom,
        // fs.watch on the directories: a change wakes a read pass at once.
        onChange: () => this.kick(),
        onIdentitiesChanged: () => void this.checkpointer.save(),
        log: this.log,
        cwd: o.cwd,
      },
      known,
    );
    this.checkpointer = new Checkpointer(
      {
        file: path.join(o.stateDir, 'checkpoints.json'),
        spool,
        streams: this.tailer.streams,
        intervalMs: o.checkpointIntervalMs,
        onReleased: () => this.roomMade(),
        log: this.log,
        inputs: inputState.acked,
      },
      acked,
    );
    this.inputs = this.makeInputs(inputState.resume);
    this.deadLetters = new DeadLetters({ stateDir: o.stateDir, maxBytes: o.deadLetterMaxBytes, logIntervalMs: o.heldLogIntervalMs, log: this.log });
    this.delivery = new Delivery({
      spool,
      shipper: new Shipper({ server: o.server, token: o.token, timeoutMs: o.requestTimeoutMs, ca: o.ca, cert: o.cert, key: o.key }),
      deadLetters: this.deadLetters,
      wire,
      backoff: o.backoff,
      giveUpAfterMs: o.once ? o.onceGiveUpMs : undefined,
      heldLogIntervalMs: o.heldLogIntervalMs,
      onDone: (header, position) => this.checkpointer.acknowledged(header, position),
      onDrained: () => this.flushIfIdle(),
      onFailed: (reason) => {
        this.sealer.abandonWaiting();
        this.roomMade();
        this.fail(reason);
      },
      log: this.log,
    });
    this.delivery.pending = pendingRecords;
  }

  /** Loads checkpoints, opens the spool and learns what it still holds. */
  static async create(options: AgentOptions): Promise<Agent> {
    const state = await recoverState(options.stateDir, options.spoolMaxBytes ?? agentDefaults.spoolMaxBytes, options.log ?? (() => {}));
    return new Agent(options, state.spool, state.streams, state.acked, state.pendingRecords, state.inputs);
  }

  private makeInputs(resume: Record<string, string>): AgentInput[] {
    const o = this.options;
    const host: InputHost = {
      seal: (batch, key, position) => {
        // Input lines have no file checkpoints: the record carries the input's position instead.
        const header: SpoolRecordHeader = { lines: batch.lines, files: [], ...(position === undefined ? {} : { inputs: { [key]: position } }) };
        this.sealer.seal(batch, header);
      },
      hasRoom: () => this.sealer.hasRoom,
      idle: () => this.sealer.idle && this.delivery.pending === 0,
      log: (message) => this.log('input_note', { message }),
    };
    const batching = { host: o.host, maxLineBytes: o.maxLineBytes, batchMaxLines: o.batchMaxLines, batchMaxBytes: o.batchMaxBytes, flushIntervalMs: o.flushIntervalMs };
    const inputs: AgentInput[] = o.journal.map((source) => new JournalInput(source, host, { ...batching, journalctl: o.journalctl }, resume[journalKey(source)]));
    if (o.stdin !== undefined) {
      const parser = (o.parserFactory ?? createTimestampParser)({});
      inputs.push(new StdinInput({ ...batching, name: o.stdin.name, parser, stream: o.stdin.stream ?? process.stdin }, host));
    }
    return inputs;
  }

  /** Resolves when every input that ends (stdin) has ended; undefined when none does. */
  get inputsEnded(): Promise<void> | undefined {
    const ending = this.inputs.filter((i) => i instanceof StdinInput);
    return ending.length === 0 ? undefined : Promise.all(ending.map((i) => i.ended)).then(() => {});
  }

  /** Spool records not acknowledged yet (after stop(): what the next start delivers). */
  get unacknowledgedBatches(): number {
    return this.delivery.pending;
  }

  private get watching(): string {
    return [...this.options.sources.flatMap((s) => s.paths), ...this.inputs.map((i) => i.description)].join(',');
  }

  /** `spoolMs`: time spent appending (write + fdatasync) to the spool, the cost of spooling every batch. */
  get stats(): {
    linesRead: number;
    bytesRead: number;
    batches: number;
    spoolMs: number;
    deliveredLines: number;
    duplicateLines: number;
    deadLetteredLines: number;
  } {
    const d = this.delivery;
    return { ...this.readStats, ...this.sealer.stats, deliveredLines: d.deliveredLines, duplicateLines: d.duplicateLines, deadLetteredLines: d.rejectedLines };
  }

  /** `dev:ino` -> bytes read, for the files open now (tests). */
  readPositions(): Map<string, number> {
    return this.tailer.readPositions();
  }

  /** Tails until stop(): scans, polls and watches. */
  start(): void {
    const o = this.options;
    this.log('started', { host: o.host, server: o.server, state: o.stateDir, watching: this.watching });
    this.tailing = true;
    this.delivery.start();
    for (const input of this.inputs) input.start();
    this.timers.push(setInterval(() => this.kick(true), o.scanIntervalMs));
    this.timers.push(setInterval(() => this.kick(), o.pollIntervalMs));
    this.timers.push(setInterval(() => this.summary(), o.summaryIntervalMs));
    this.kick(true);
  }

  /** `--once`: everything to its current end, shipped and acknowledged. Exit code: 0 or 1. */
  async once(): Promise<number> {
    const o = this.options;
    this.log('reading_once', { host: o.host, server: o.server, state: o.stateDir, watching: this.watching });
    this.delivery.start();
    const progress = setInterval(() => this.progress(), o.progressIntervalMs);
    const inputsRead = Promise.all(this.inputs.map((i) => i.readOnce()));
    let inputsFailed = false;
    try {
      // More than the open-file bound: each scan opens what fits, closing files read to their end.
      do {
        await this.tailer.scan();
        while ((await this.tailer.readAvailable()) === 'blocked') {
          if (this.delivery.failure !== undefined) break;
          await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        }
      } while (this.tailer.needsScan && this.delivery.failure === undefined);
      this.tailer.finishAll();
      this.batcher.flush();
      inputsFailed = (await inputsRead).includes(false);
      await this.sealer.drain();
      await this.delivery.waitIdle();
    } finally {
      clearInterval(progress);
    }
    await this.delivery.stop();
    await this.checkpointer.save();
    await this.close();
    const { deliveredLines, duplicateLines, rejectedLines, failure } = this.delivery;
    const unreadable = this.tailer.unreadable.size;
    const deadLetterFile = rejectedLines > 0 ? this.deadLetters.file : undefined;
    this.log('done', { lines: deliveredLines, duplicates: duplicateLines, dead_lettered: rejectedLines, unreadable_files: unreadable, dead_letter_file: deadLetterFile });
    return failure !== undefined || rejectedLines > 0 || unreadable > 0 || inputsFailed ? 1 : 0;
  }

  /** SIGTERM/SIGINT: stop reading, flush, wait a bounded time for acknowledgements, save. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.tailer.interrupt();
    await this.reading;
    await Promise.all(this.inputs.map((i) => i.stop(true)));
    this.batcher.flush();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.stopTimeoutMs)));
    // A full spool can hold batches back for as long as Daniel is away: the wait is bounded.
    await Promise.race([this.sealer.drain().then(() => this.delivery.waitIdle()), deadline]);
    clearTimeout(timer);
    this.sealer.abandonWaiting();
    await this.sealer.drain();
    await this.delivery.stop();
    await this.checkpointer.stop();
    await this.checkpointer.save();
    await this.close();
    this.log('stopped', { lines: this.delivery.deliveredLines, unacknowledged_batches: this.delivery.pending });
  }

  /** Like `kill -9` as far as state goes: nothing flushed or saved (tests). */
  async abort(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.reading;
    await Promise.all(this.inputs.map((i) => i.stop(false)));
    this.sealer.abandonWaiting();
    await this.sealer.drain();
    await this.delivery.stop();
    await this.checkpointer.stop();
    await this.close();
  }

  private async close(): Promise<void> {
    await this.tailer.close();
    await this.spool.close();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
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
      .catch((err: unknown) => this.log('read_pass_failed', { error: (err as Error).message }))
      .finally(() => (this.reading = undefined));
  }

  private async readPass(): Promise<void> {
    do {
      this.readAgain = false;
      if (this.scanDue) {
        this.scanDue = false;
        await this.tailer.scan();
      } else {
        await this.tailer.poll();
      }
      this.caughtUp = (await this.tailer.readAvailable()) === 'done';
      this.flushIfIdle();
    } while (this.readAgain && !this.stopped);
  }

  /** Cuts the open batch when every file was read to its end and nothing is on its way. */
  private flushIfIdle(): void {
    for (const input of this.inputs) input.idle();
    if (!this.tailing || !this.caughtUp || this.batcher.pendingLines === 0) return;
    if (this.sealer.idle && this.delivery.pending === 0) this.batcher.flush();
  }

  private roomMade(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
    for (const input of this.inputs) input.roomMade();
    if (!this.caughtUp) this.kick();
    else this.flushIfIdle();
  }

  /** The identity goes along with the batch, so a restart can resume after it. */
  private seal(batch: Batch): void {
    const header: SpoolRecordHeader = {
      lines: batch.lines,
      ...(batch.binary ? { binary: true as const } : {}),
      files: batch.files.map((f) => {
        const s = this.tailer.streams.get(f.fileId);
        return {
          ...f,
          sourceIndex: s?.sourceIndex ?? 0,
          dev: s?.dev ?? 0,
          ino: s?.ino ?? 0,
          prefixLength: s?.prefixLength ?? 0,
          prefixHash: s?.prefixHash ?? '',
          ...(s?.archive === true ? { archive: true } : {}),
        };
      }),
    };
    this.sealer.seal(batch, header);
  }

  private summary(): void {
    const shipped = this.delivery.deliveredLines;
    const dead = this.delivery.rejectedLines;
    const last = this.lastSummary;
    this.lastSummary = { lines: shipped, dead, at: Date.now() };
    this.deadLetters.maybeLog();
    if (shipped === last.lines && dead === last.dead) return;
    const rate = Math.round(((shipped - last.lines) * 1000) / Math.max(1, Date.now() - last.at));
    this.log('shipping', { lines: shipped, lines_per_s: rate, dead_lettered: dead, spool_mib: Number((this.spool.sizeBytes / 1048576).toFixed(1)), files: this.tailer.openFiles });
  }

  private lastSummary = { lines: 0, dead: 0, at: Date.now() };

  private progress(): void {
    const left = this.tailer.unreadBytes;
    // Files' bytes, and lines from every input: the journal's entries have no bytes to count.
    const readLines = this.inputs.reduce((sum, input) => sum + input.linesRead, this.readStats.linesRead);
    this.log('backfill', {
      read_mib: Number((this.readStats.bytesRead / 1048576).toFixed(1)),
      left_mib: Number((left / 1048576).toFixed(1)),
      read_lines: readLines,
      shipped_lines: this.delivery.deliveredLines,
    });
  }

  private readonly log: AgentLog = (event, fields) => this.options.log?.(event, fields);
}

export { defaultBackoff };
