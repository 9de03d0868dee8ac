/**
 * When the sqlite store last appended and read, and how many reads run now: what its
 * background work (the field statistics indexer, the repacker) waits on, so that neither an
 * append nor a query ever waits behind it. One per store; each worker asks `waitMs` with its
 * own quiet times and is told when an append or a read starts.
 */
import { performance } from 'node:perf_hooks';

export class StoreActivity {
  private lastAppend = -Infinity;
  private lastRead = -Infinity;
  private reads = 0;
  private readonly listeners: (() => void)[] = [];

  /** `listener` runs when an append or a read starts (it schedules or stops work, it does not work). */
  listen(listener: () => void): void {
    this.listeners.push(listener);
  }

  appended(): void {
    this.lastAppend = performance.now();
    for (const listener of this.listeners) listener();
  }

  /** A read (search, histogram, tail, context, field counts) started: background work waits until it ends. */
  readStarted(): void {
    this.reads++;
    for (const listener of this.listeners) listener();
  }

  readEnded(): void {
    this.reads--;
    this.lastRead = performance.now();
  }

  /** How long to wait before working: 0 once `idleMs` passed since the last append and `readPauseMs` since the last read, with none running. */
  waitMs(idleMs: number, readPauseMs: number): number {
    const now = performance.now();
    const quiet = now - this.lastAppend;
    if (quiet < idleMs) return idleMs - quiet;
    if (this.reads > 0) return readPauseMs;
    const sinceRead = now - this.lastRead;
    return sinceRead < readPauseMs ? readPauseMs - sinceRead : 0;
  }
}
