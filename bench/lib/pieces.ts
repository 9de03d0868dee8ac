/**
 * Runs of whole lines cut from a generated file, for the component benches that measure a
 * codec or a filter on segment-sized text (bench/codec-bench.ts, bench/columns-probe.ts).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** `count` pieces of about `bytes` of whole lines each, spread evenly over `file`. */
export function linePieces(file: string, count: number, bytes: number): Buffer[] {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    return Array.from({ length: count }, (_, i) => {
      const buffer = Buffer.alloc(bytes + 4096);
      const read = readSync(fd, buffer, 0, buffer.length, Math.floor((i * Math.max(0, size - buffer.length)) / count));
      const start = buffer.indexOf(10) + 1;
      const end = buffer.lastIndexOf(10, Math.min(read, start + bytes)) + 1;
      return buffer.subarray(start, end);
    });
  } finally {
    closeSync(fd);
  }
}
