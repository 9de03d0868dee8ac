/**
 * Computes the field statistics (query/field-stats.ts) of the sqlite store's segments off the
 * append path. Extracting every line's fields costs several µs a line, more than an append
 * costs, so it is not done while appends arrive: the indexer waits until no append has come
 * for `idleMs`, then works through the segments without statistics, newest first (64 at a time,
 * each 64 oldest first), in slices of the main thread (`sliceMs`) between which everything else
 * runs, and pauses again as soon as an append comes. It also waits while a read (search, histogram, field counts) runs and
 * for `readPauseMs` after the last one ends, so a query never waits behind its slices. A segment merged or deleted while it was being counted is
 * dropped; its successor is counted in turn. Until a segment has statistics, the queries that
 * use them read its lines instead.
 *
 * Each segment is read in two phases: its lines (fields extracted, words noted), then its
 * frequent words chosen and counted over the text a part per turn (term-stats.ts). A segment whose
 * statistics have field counts but no term counts keeps its field counts and only gains its
 * term counts; statistics an older Daniel counted (versions 1 and 2) are read as none and
 * counted again whole.
 *
 * The words a segment's term counts keep are remembered per file (the 1,024 files counted
 * last; a segment's words first, then the file's earlier ones it did not keep) and passed to
 * the next segment of the same file the indexer counts, which keeps those it holds at all
 * (term-stats.ts): a word frequent in a file is counted in the segments of it that hold the
 * word, not only where it is frequent, also past segments without it.
 */
import { performance } from 'node:perf_hooks';
import { payloadTextAndTimes } from '../../segment/codec.js';
import { decompressPayload } from '../../segment/compression.js';
import { extractFields } from '../../query/fields.js';
import { FieldStatsBuilder, type FieldStats } from '../../query/field-stats.js';
import { MAX_INHERITED_TERMS, MAX_TERMS, TermStatsBuilder } from '../../query/term-stats.js';
import type { SqliteSegments, StoredSegment } from './sqlite-segments.js';
import { StoreActivity } from './store-activity.js';
import { IdleSlices } from './idle-slices.js';

export interface FieldStatsIndexerOptions {
  /** Quiet time after the last append before indexing starts (ms). */
  idleMs?: number;
  /** Main-thread time per turn (ms). */
  sliceMs?: number;
  /** Quiet time after the last read before indexing resumes (ms). */
  readPauseMs?: number;
}

interface InProgress {
  segment: StoredSegment;
  text: Buffer;
  encoding: 'latin1' | 'utf8';
  fieldsAt: ((i: number) => Record<string, string> | undefined) | undefined;
  /** Each line's timestamp, for the time spans of the values. */
  timestamps: BigInt64Array;
  count: number;
  line: number;
  start: number;
  /** Undefined when the field counts are kept from older statistics (`kept`). */
  builder: FieldStatsBuilder | undefined;
  kept: FieldStats | undefined;
  terms: TermStatsBuilder;
}

const BATCH = 64;
/** Files whose segments' kept words are remembered for their next segment. */
const VOCABULARY_FILES = 1_024;
/** Words remembered a file: as many as a segment keeps. */
const VOCABULARY_WORDS = MAX_TERMS + MAX_INHERITED_TERMS;

export class FieldStatsIndexer {
  private readonly slices: IdleSlices;
  private current: InProgress | undefined;
  private queue: StoredSegment[] = [];
  /** Per file (host and file id), the words its last segment counted kept, least recently counted first. */
  private readonly vocabulary = new Map<string, readonly string[]>();
  /** Segments counted since start (diagnostics and tests). */
  indexed = 0;

  constructor(
    private readonly segments: SqliteSegments,
    options: FieldStatsIndexerOptions = {},
    activity = new StoreActivity(),
  ) {
    const times = { idleMs: options.idleMs ?? 300, sliceMs: options.sliceMs ?? 4, readPauseMs: options.readPauseMs ?? 20 };
    // The store closed or failed under a slice: a later append or open starts again.
    this.slices = new IdleSlices(activity, times, (budgetMs) => this.step(budgetMs), () => {
      this.current = undefined;
      this.queue = [];
    });
  }

  /** Starts looking for work (after opening a store that may hold segments without statistics). */
  start(): void {
    this.slices.start();
  }

  stop(): void {
    this.slices.stop();
  }

  /** Counts every segment without statistics now, synchronously (tests, and a caller that has the time). */
  runToEnd(): number {
    let done = 0;
    while (this.step(Infinity)) done++;
    return done;
  }

  /** Works for about `budgetMs`; false when nothing is left to do. */
  private step(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    for (;;) {
      if (this.current === undefined) {
        const next = this.nextSegment();
        if (next === undefined) return false;
        this.current = next;
      }
      const work = this.current;
      if (work.line < work.count) {
        const end = Math.min(work.count, work.line + BATCH);
        for (; work.line < end; work.line++) {
          const lineEnd = work.text.indexOf(10, work.start);
          work.builder?.add(extractFields(work.text.toString(work.encoding, work.start, lineEnd), work.fieldsAt?.(work.line)), work.timestamps[work.line]);
          work.terms.addLine(work.start, lineEnd);
          work.start = lineEnd + 1;
        }
      } else if (!work.terms.scan()) {
        this.current = undefined;
        if (this.segments.stillThere(work.segment) !== undefined) {
          const { minSeq, maxSeq } = work.segment;
          const terms = work.terms.finish();
          this.remember(work.segment, terms.words);
          this.segments.saveFieldStats(work.segment, work.kept !== undefined ? { ...work.kept, terms } : work.builder!.finish(minSeq, maxSeq, terms));
          this.indexed++;
        }
        if (budgetMs === Infinity) return true;
        if (performance.now() >= until) return true;
        continue;
      }
      if (this.segments.stillThere(work.segment) === undefined) {
        this.current = undefined; // merged or deleted meanwhile
      }
      if (performance.now() >= until) return true;
    }
  }

  private nextSegment(): InProgress | undefined {
    for (;;) {
      // The newest 64 without statistics, counted oldest first: each row then lands after the one
      // before it. Inserted newest first, every row went in front of the last and split its page,
      // which left the table's pages half empty: on the bench's 10M lines, 24.9 MB of pages for
      // 13.5 MB of statistics, against 16.7 MB in this order (the whole file 469.9 -> 461.7 MB).
      if (this.queue.length === 0) this.queue = this.segments.withoutFieldStats(64).reverse();
      const segment = this.queue.shift();
      if (segment === undefined) return undefined;
      if (this.segments.stillThere(segment) === undefined) continue;
      const { count, text, fieldsAt, timestamps } = payloadTextAndTimes(decompressPayload(this.segments.dataNow(segment.id)));
      const old = this.segments.fieldStatsNow(segment);
      const kept = old !== undefined && old.minSeq === segment.minSeq && old.maxSeq === segment.maxSeq && old.lines === segment.lineCount ? old : undefined;
      return {
        segment,
        text,
        encoding: segment.ascii ? 'latin1' : 'utf8',
        fieldsAt,
        timestamps,
        count,
        line: 0,
        start: 0,
        builder: kept === undefined ? new FieldStatsBuilder() : undefined,
        kept,
        terms: new TermStatsBuilder(text, segment.ascii, this.vocabulary.get(fileKey(segment))),
      };
    }
  }

  /**
   * The file's words for its next segment: this segment's kept words first, then those the file
   * kept before that this one did not, so a word a segment lacks (or holds only inside a longer
   * word: `xERRORS`) is still offered to the segments after it.
   */
  private remember(segment: StoredSegment, words: readonly string[]): void {
    const key = fileKey(segment);
    const before = this.vocabulary.get(key) ?? [];
    this.vocabulary.delete(key);
    const now = new Set(words);
    this.vocabulary.set(key, [...words, ...before.filter((word) => !now.has(word))].slice(0, VOCABULARY_WORDS));
    if (this.vocabulary.size > VOCABULARY_FILES) this.vocabulary.delete(this.vocabulary.keys().next().value!);
  }
}

function fileKey(segment: StoredSegment): string {
  return `${segment.host}\u0000${segment.fileId}`;
}
