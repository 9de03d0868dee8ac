/** Histogram buckets: epoch-millisecond starts aligned to the bucket width. */
import { msToNs } from '../common/time.js';

/** Start (epoch ms) of the bucket holding `timestamp` (ns); floors toward minus infinity. */
export function bucketStartMs(timestamp: bigint, bucketMs: number): number {
  const width = msToNs(bucketMs);
  let index = timestamp / width;
  if (timestamp % width !== 0n && timestamp < 0n) index -= 1n;
  return Number(index) * bucketMs;
}

/** Counts per bucket start, merged across segments; `toBuckets` gives the answer's shape. */
export class BucketCounter {
  private readonly counts = new Map<number, number>();
  constructor(private readonly bucketMs: number) {}

  add(timestamp: bigint, count = 1): void {
    const start = bucketStartMs(timestamp, this.bucketMs);
    this.counts.set(start, (this.counts.get(start) ?? 0) + count);
  }

  toBuckets(): { startMs: number; count: number }[] {
    return [...this.counts].map(([startMs, count]) => ({ startMs, count })).sort((a, b) => a.startMs - b.startMs);
  }
}
