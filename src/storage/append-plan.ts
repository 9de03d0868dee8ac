/**
 * What every segment store does with one file's lines of an append before it writes them,
 * in one place: drop the duplicates (the rule of the memory store, the reference), number
 * the rest with their seqs, and cut them into runs of at most so many bytes of text.
 */
import { BodyLine, textLength } from '../protocol/body-line.js';
import type { SegmentLine } from '../segment/codec.js';
import type { AppendLine } from './store.js';

/**
 * A line starting below the stored end offset is a duplicate; the end moves to the furthest
 * line end seen, so a line overlapping one accepted earlier in the same batch is one too.
 */
export function splitDuplicates(lines: readonly AppendLine[], storedEnd: number): { fresh: AppendLine[]; duplicates: number; end: number } {
  const fresh: AppendLine[] = [];
  let duplicates = 0;
  let end = storedEnd;
  for (const line of lines) {
    if (line.offset < end) {
      duplicates++;
      continue;
    }
    end = Math.max(end, line.end);
    fresh.push(line);
  }
  return { fresh, duplicates, end };
}

/** The lines as segment lines, numbered with the seqs after `lastSeq`. */
export function withSeqs(lines: readonly AppendLine[], lastSeq: number): SegmentLine[] {
  let seq = lastSeq;
  return lines.map((line) => {
    // A line still in its request body stays there (protocol/body-line.ts).
    if (line instanceof BodyLine) return line.withSeq(++seq);
    // `fields` is always present, undefined or not. Without it, the first check of `fields` on
    // these lines (preparedFits in segment/codec.ts) cost Daniel about 1.5 µs a line at ingest.
    const numbered: SegmentLine = { offset: line.offset, end: line.end, timestamp: line.timestamp, line: line.line, cut: line.cut, seq: ++seq, fields: undefined };
    if (line.fields !== undefined) numbered.fields = line.fields;
    return numbered;
  });
}

/** Consecutive runs of lines of at most `maxBytes` of text each (a longer line is a run alone). */
export function chunkLines<L extends { line: string }>(lines: readonly L[], maxBytes: number): L[][] {
  const chunks: L[][] = [];
  let current: L[] = [];
  let size = 0;
  for (const line of lines) {
    const length = textLength(line);
    if (current.length > 0 && size + length > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(line);
    size += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
