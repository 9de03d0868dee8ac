/**
 * Sharing the main thread between long reads and everything else. A search, histogram or
 * live-tail read over many segments runs in turns: it works for at most one slice (a few ms),
 * then waits for its next turn. Turns are handed out one per event-loop iteration, after the
 * loop has polled for I/O, so however many reads run at once, a health check, an ingest or a
 * new connection waits at most about one slice for the thread, never for a whole query.
 *
 * A read also checks its AbortSignal at every turn: a search whose client went away stops at
 * its next turn instead of running to the end.
 */
import { performance } from 'node:perf_hooks';

/** Main-thread time one read may take before it lets the rest of the server run. */
export const DEFAULT_SLICE_MS = 4;

/** Thrown by a read whose signal aborted (its client disconnected). */
export class ReadAborted extends Error {
  override readonly name = 'ReadAborted';
  constructor() {
    super('The read was abandoned by its client');
  }
}

export class TurnScheduler {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  constructor(readonly sliceMs: number = DEFAULT_SLICE_MS) {}

  /** Reads waiting for a turn (diagnostics). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves at the caller's next turn. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    // setImmediate runs after the poll phase: I/O waiting since the last turn is served first.
    setImmediate(() => {
      this.scheduled = false;
      const next = this.waiting.shift();
      this.schedule();
      next?.();
    });
  }
}

/** The process-wide scheduler every read shares (one main thread). */
export const sharedTurns = new TurnScheduler();

/** One read's view of the scheduler: call `check()` often; it yields once the slice is spent. */
export class TimeSlice {
  private sliceStart = performance.now();

  constructor(
    private readonly scheduler: TurnScheduler = sharedTurns,
    private readonly signal?: AbortSignal,
  ) {}

  /** True when the read has used up its slice and should `yield()`. */
  spent(): boolean {
    return performance.now() - this.sliceStart >= this.scheduler.sliceMs;
  }

  /** True when `check()` has something to do (the slice is spent or the signal aborted): lets a hot loop skip awaiting it. */
  due(): boolean {
    return this.signal?.aborted === true || this.spent();
  }

  /** Waits for the next turn when the slice is spent; throws ReadAborted once the signal aborts. */
  async check(): Promise<void> {
    if (this.signal?.aborted) throw new ReadAborted();
    if (!this.spent()) return;
    await this.scheduler.turn();
    this.sliceStart = performance.now();
    if (this.signal?.aborted) throw new ReadAborted();
  }
}
