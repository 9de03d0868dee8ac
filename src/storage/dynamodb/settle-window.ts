/**
 * The settle window of live tail on DynamoDB (docs/dynamodb.md, "Seqs and live tail").
 *
 * Several Daniels reserve seq ranges from one counter and commit them independently, so a
 * lower range can become visible after a higher one; a tail that moved past the higher one
 * would never show the lower. The rule that makes tail exact, with W the window:
 *   - writers commit a reservation only while it is younger than W/2, timed from before the
 *     reservation was sent (append-writer.ts); later, the lines are reserved again;
 *   - readers tail only up to S, the counter's reserved value `s` as read at least W ago,
 *     timed from after the read answered.
 * Every seq <= S was reserved before that read answered, so its commit was sent (if ever)
 * before the read's time + W/2 and has had W/2 to land: it is visible now or never will be.
 * Both sides time with their own monotonic clock; no clock is compared across machines.
 */
import type { SegmentBackend } from '../../query/backend.js';

export interface CounterSample {
  /** Monotonic ms after the read answered. */
  at: number;
  /** The counter's reserved seqs then. */
  reserved: number;
}

export class SettleWindow {
  /** Oldest first; the oldest kept is the newest one already a window old. */
  private samples: CounterSample[] = [];
  private sampling: Promise<void> | undefined;

  constructor(
    readonly windowMs: number,
    /** The counter's reserved value, read strongly consistent. */
    private readonly readReserved: () => Promise<number>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * The highest seq a tail may pass now: every seq at or below it is visible or never will be.
   * Undefined until some sample is a window old. Reads the counter at most once per quarter
   * window, however many tails ask.
   */
  async settledSeq(): Promise<number | undefined> {
    const newest = this.samples[this.samples.length - 1];
    if (newest === undefined || this.clock() - newest.at >= this.windowMs / 4) await this.sample();
    return this.settledNow();
  }

  /** Where a new live tail starts: the settled seq, waiting (at most a window) for the first sample to settle. */
  async startSeq(): Promise<number> {
    for (;;) {
      const settled = await this.settledSeq();
      if (settled !== undefined) return settled;
      const oldest = this.samples[0]!;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, oldest.at + this.windowMs - this.clock())));
    }
  }

  /** Reads the counter (one read shared by concurrent callers). */
  sample(): Promise<void> {
    this.sampling ??= this.readReserved()
      .then((reserved) => {
        this.samples.push({ at: this.clock(), reserved });
      })
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  private settledNow(): number | undefined {
    const bound = this.clock() - this.windowMs;
    let settled = -1;
    while (settled + 1 < this.samples.length && this.samples[settled + 1]!.at <= bound) settled++;
    if (settled < 0) return undefined;
    this.samples.splice(0, settled);
    return this.samples[0]!.reserved;
  }
}

/** The backend as a tail bounded by `seq` reads it: the engine tails up to what lastSeq answers. */
export function settledBackend(backend: SegmentBackend, seq: number): SegmentBackend {
  return {
    listSegments: (query) => backend.listSegments(query),
    loadBloom: (segment) => backend.loadBloom(segment),
    loadData: (segment) => backend.loadData(segment),
    lastSeq: () => Promise.resolve(seq),
  };
}
