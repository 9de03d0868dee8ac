/**
 * Background work on the main thread that never makes an append or a query wait: it starts
 * once no append has come for `idleMs` and no read has run for `readPauseMs` (StoreActivity),
 * then runs `step(sliceMs)` turn after turn, each after I/O has been polled (setImmediate), so
 * requests keep their turns between slices; an append or a read postpones it again. `step`
 * answers false when nothing is left; a later append or read looks again. The field statistics
 * indexer and the cache warmer run this way.
 */
import type { StoreActivity } from './store-activity.js';

export interface IdleSliceTimes {
  /** Quiet time after the last append before work starts (ms). */
  idleMs: number;
  /** Main-thread time per turn (ms). */
  sliceMs: number;
  /** Quiet time after the last read before work resumes (ms). */
  readPauseMs: number;
}

export class IdleSlices {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;

  /**
   * `step(budgetMs)` works for about that long and answers whether more is left; when it throws
   * (the store closed or failed under it), `failed` runs, if given, and the work waits for the
   * next append or read.
   */
  constructor(
    private readonly activity: StoreActivity,
    private readonly times: IdleSliceTimes,
    private readonly step: (budgetMs: number) => boolean,
    private readonly failed?: () => void,
  ) {
    activity.listen(() => this.schedule(times.idleMs));
  }

  start(): void {
    this.schedule(this.times.idleMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer !== undefined || this.immediate !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.turn();
    }, delayMs);
    this.timer.unref();
  }

  private turn(): void {
    if (this.stopped) return;
    const wait = this.activity.waitMs(this.times.idleMs, this.times.readPauseMs);
    if (wait > 0) return this.schedule(wait);
    let more: boolean;
    try {
      more = this.step(this.times.sliceMs);
    } catch {
      this.failed?.();
      return;
    }
    if (!more) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.turn();
    });
  }
}
