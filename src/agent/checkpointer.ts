/**
 * Acknowledgements -> checkpoints -> spool release. A record Daniel acknowledged (or that
 * was dead-lettered) advances its files' acknowledged offsets; a save, at most every
 * `intervalMs`, writes them atomically, and only then is the spool released up to the same
 * record: a crash between the two replays a record Daniel already has, which it recognises
 * by (file id, offset), rather than losing one.
 */
import { saveCheckpoints, CHECKPOINT_VERSION, type FileCheckpoint } from './checkpoints.js';
import type { SpoolRecordHeader } from './spool-record.js';
import { comparePositions, type Spool, type SpoolPosition } from './spool.js';
import type { FileStream } from './tailer/open-file.js';
import type { AgentLog } from './events.js';

export interface CheckpointerOptions {
  file: string;
  spool: Spool;
  streams: Map<string, FileStream>;
  intervalMs: number;
  /** The spool was released: a full spool may have room again. */
  onReleased: () => void;
  log: AgentLog;
  /** Inputs' positions acknowledged before (from the checkpoint file). */
  inputs?: Record<string, string>;
}

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private stopped = false;
  private readonly inputs: Record<string, string>;

  constructor(
    private readonly options: CheckpointerOptions,
    private acked: SpoolPosition,
  ) {
    this.inputs = { ...options.inputs };
  }

  /** A spool record is done: its files advance now, the saved checkpoint soon. */
  acknowledged(header: SpoolRecordHeader, position: SpoolPosition): void {
    for (const f of header.files) {
      const stream = this.options.streams.get(f.fileId);
      if (stream === undefined || f.end <= stream.ackedOffset) continue;
      stream.ackedOffset = f.end;
      stream.ackedTimestamp = f.lastTimestamp;
    }
    if (header.inputs !== undefined) Object.assign(this.inputs, header.inputs);
    if (comparePositions(position, this.acked) > 0) this.acked = position;
    if (this.stopped) return;
    const { spool } = this.options;
    if (spool.isFull || spool.awaitingRoom) {
      // Reading waits for this release: don't make it wait for the timer too.
      void this.save();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.save();
      }, this.options.intervalMs);
    }
  }

  /** Saves soon; a save already waiting to start covers this request too. */
  save(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    let started = false;
    const run = this.chain.then(async () => {
      started = true;
      this.queued = undefined;
      const acked = { ...this.acked };
      const files = [...this.options.streams.values()].map(toCheckpoint);
      const inputs = Object.keys(this.inputs).length > 0 ? { inputs: { ...this.inputs } } : {};
      const remade = await saveCheckpoints(this.options.file, { version: CHECKPOINT_VERSION, spool: acked, files, ...inputs });
      if (remade) {
        this.options.log('state_dir_recreated', { file: this.options.file });
      }
      await this.options.spool.release(acked);
      this.options.onReleased();
    });
    this.chain = run.catch((err: unknown) => this.options.log('checkpoint_save_failed', { error: (err as Error).message }));
    if (!started) this.queued = this.chain;
    return this.chain;
  }

  /** No more timed saves; resolves when a save under way is done. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return this.chain;
  }
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
  if (s.archive === true) checkpoint.archive = true;
  if (s.archiveEnd !== undefined) checkpoint.archiveEnd = s.archiveEnd;
  return checkpoint;
}
