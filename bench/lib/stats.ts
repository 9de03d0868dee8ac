/** Percentiles and small numeric helpers for timings. */

/** Nearest-rank percentile of unsorted values; undefined for none. */
export function percentile(values: number[], fraction: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values: number[]): number | undefined => percentile(values, 0.5);

export const MiB = 2 ** 20;

/** Runs `fn` `times` times in a row, returning each duration in ms. */
export async function timeRepeated(times: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn(i);
    durations.push(performance.now() - started);
  }
  return durations;
}

/** This process's CPU time (user + system, seconds) while `run` runs. */
export function cpuSecondsOf(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}
