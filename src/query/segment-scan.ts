/**
 * Scanning one segment: the bloom check before loading it, then a Buffer-level pass over its
 * text (indexOf for a case-sensitive needle, one lowercased string for a case-insensitive one
 * on ASCII text, a line-by-line test otherwise), calling back with the index of every line
 * that meets all conditions.
 */
import type { SegmentBackend, SegmentMeta } from './backend.js';
import type { StoredLine } from './types.js';
import { bloomMayContain, bloomMayContainExact, bloomMayHoldName, bloomMayHoldToken, exactTrigrams, foldKeepsTokens, nameTrigrams, needleTrigrams, tokenProbe } from '../segment/bloom.js';
import type { CompiledMatch } from './matcher.js';
import type { DecodedSegment } from '../segment/codec.js';
import type { TimeSlice } from './time-slice.js';

export interface LineConditions {
  match: CompiledMatch;
  /** Inclusive. */
  since?: bigint;
  /** Exclusive. */
  until?: bigint;
  /** Only seq > seqAbove. */
  seqAbove?: number;
  /** Only seq <= seqAtMost. */
  seqAtMost?: number;
  /** Any further test on the line's position (cursors). */
  accept?: (segment: DecodedSegment, meta: SegmentMeta, index: number) => boolean;
  /**
   * Whether a line of this timestamp can still be wanted, asked before the line is tested
   * (search: false once the top is full of newer lines), so lines that could never be kept
   * cost no match test, which for a field term is extracting the line's fields.
   */
  admit?: (timestamp: bigint) => boolean;
  /** Visit the segment's lines last to first (a newest-first search meets its best lines first, and admit then turns the rest away). */
  reverse?: boolean;
  /** Only the lines of these indexes, `from` inclusive, `to` exclusive (a time window of a segment in time order). */
  range?: { from: number; to: number };
}

/** Bloom probes computed once per query. */
export interface BloomProbes {
  caseSensitive: { exact: number[]; lowered: number[] }[];
  caseInsensitive: number[][];
  /** Whole-token hashes of field values (format 3 blooms; query-match.ts field hints). */
  tokens: number[];
  /** The name trigrams of each field every match has (format 4 blooms; bloom.ts nameTrigrams). */
  names: number[][];
}

export function bloomProbes(match: CompiledMatch): BloomProbes {
  const caseSensitive: BloomProbes['caseSensitive'] = [];
  const caseInsensitive: number[][] = [];
  const tokens: number[] = [];
  for (const condition of [...match.substrings, ...match.hints]) {
    // A field value is a whole token of the line (or of its stored fields) when equality is asked.
    if (condition.wholeToken === true) {
      const token = tokenProbe(condition.needle);
      if (token !== undefined) tokens.push(token);
    }
    const lowered = needleTrigrams(condition.needle);
    if (lowered.length === 0) continue;
    if (condition.caseInsensitive) caseInsensitive.push(lowered);
    else caseSensitive.push({ exact: exactTrigrams(condition.needle), lowered });
  }
  const names = match.requiredNames.map(nameTrigrams).filter((trigrams) => trigrams.length > 0);
  return { caseSensitive, caseInsensitive, tokens, names };
}

/**
 * The verdict that needs no await: false when no line can match (the bloom summary the backend
 * holds in memory rules the segment out), true when it may (no probe applies, or the summary
 * admits it: a false positive costs one decode, less than reading the full bloom of every
 * segment that truly matches), undefined when only the full bloom can tell.
 */
export function quickMayMatch(backend: SegmentBackend, meta: SegmentMeta, probes: BloomProbes): boolean | undefined {
  const useInsensitive = insensitiveProbesApply(meta, probes);
  if (probes.caseSensitive.length === 0 && !useInsensitive && probes.tokens.length === 0 && probes.names.length === 0) return true;
  const summary = backend.bloomSummary?.(meta);
  if (summary === undefined) return undefined;
  if (!bloomAllows(summary, probes, useInsensitive)) return false;
  // A whole token (a trace id) is often the only probe that can say no, and a summary halved
  // whole admits far more segments by a token than the full bloom does: ask the full bloom
  // then, unless the summary kept its token array whole (format 5: it already said what the
  // full bloom would).
  return probes.tokens.length > 0 && !foldKeepsTokens(summary) ? undefined : true;
}

/** False when the segment's bloom proves no line can match; loads a bloom only when a probe applies and no summary decides. */
export async function segmentMayMatch(backend: SegmentBackend, meta: SegmentMeta, probes: BloomProbes): Promise<boolean> {
  return quickMayMatch(backend, meta, probes) ?? fullBloomMayMatch(backend, meta, probes);
}

/**
 * The full bloom's verdict, whatever the summary says: for a caller that knows most segments
 * the summary admits here hold no match (the histogram, for a word a segment's term counts
 * lack). True when the segment vanished: loading the data will tell.
 */
export async function fullBloomMayMatch(backend: SegmentBackend, meta: SegmentMeta, probes: BloomProbes): Promise<boolean> {
  const bloom = await backend.loadBloom(meta);
  return bloom === null || bloomAllows(bloom, probes, insensitiveProbesApply(meta, probes));
}

/** Case-insensitive probes are trigrams of lowercased ASCII: they say something of an ASCII segment only. */
function insensitiveProbesApply(meta: SegmentMeta, probes: BloomProbes): boolean {
  return meta.ascii && probes.caseInsensitive.length > 0;
}

function bloomAllows(bloom: Uint8Array, probes: BloomProbes, useInsensitive: boolean): boolean {
  // Most selective first: a token is one lookup that rules out almost every segment without it,
  // a field name rules out whole files; a hex value's trigrams are in nearly every segment.
  for (const token of probes.tokens) if (!bloomMayHoldToken(bloom, token)) return false;
  for (const trigrams of probes.names) if (!bloomMayHoldName(bloom, trigrams)) return false;
  for (const { exact, lowered } of probes.caseSensitive) if (!bloomMayContainExact(bloom, exact, lowered)) return false;
  if (useInsensitive) for (const trigrams of probes.caseInsensitive) if (!bloomMayContain(bloom, trigrams)) return false;
  return true;
}

/** Index of the line whose text holds byte `position`. */
function lineIndexAt(starts: Int32Array, position: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (starts[middle]! <= position) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** Lines (or needle hits) examined between two chances for the caller to pause. */
const STEP_LINES = 256;

/** Scans the whole segment at once (short work: one segment, or a worker thread). */
export function scanSegment(meta: SegmentMeta, segment: DecodedSegment, conditions: LineConditions, onMatch: (index: number) => void): void {
  const steps = scanSteps(meta, segment, conditions, onMatch);
  while (!steps.next().done);
}

/**
 * Indexes of the lines of a whole segment that `match` matches, in order, and nothing else
 * tested (a filter: the time range, seqs and cursor are the walk's, on the lines it gets back).
 */
export function matchingIndexes(segment: DecodedSegment, ascii: boolean, match: CompiledMatch): number[] {
  const indexes: number[] = [];
  const steps = scanSteps(textOnly(ascii), segment, { match }, (i) => indexes.push(i));
  while (!steps.next().done);
  return indexes;
}

/** The same in the main thread's turns. */
export async function matchingIndexesSliced(segment: DecodedSegment, ascii: boolean, match: CompiledMatch, slice: TimeSlice): Promise<number[]> {
  const indexes: number[] = [];
  await scanSegmentSliced(textOnly(ascii), segment, { match }, slice, (i) => indexes.push(i));
  return indexes;
}

/** Without `accept`, a scan reads only whether the segment's text is all ASCII from its metadata. */
function textOnly(ascii: boolean): SegmentMeta {
  return { ascii } as SegmentMeta;
}

/** Scans the segment in steps, pausing (`slice.check()`) whenever the read has used its slice of the main thread. */
export async function scanSegmentSliced(meta: SegmentMeta, segment: DecodedSegment, conditions: LineConditions, slice: TimeSlice, onMatch: (index: number) => void): Promise<void> {
  const steps = scanSteps(meta, segment, conditions, onMatch);
  while (!steps.next().done) await slice.check();
}

/** The scan as a generator: it yields every STEP_LINES lines or hits, so a caller can pause it. */
function* scanSteps(meta: SegmentMeta, segment: DecodedSegment, conditions: LineConditions, onMatch: (index: number) => void): Generator<void, void, undefined> {
  const { match, since, until, seqAbove, seqAtMost, accept, admit, reverse, range } = conditions;
  const { timestamps, seqs, starts, lengths, text } = segment;
  const passes = (i: number): boolean => {
    const ts = timestamps[i]!;
    const seq = seqs[i]!;
    return (
      (since === undefined || ts >= since) &&
      (until === undefined || ts < until) &&
      (seqAbove === undefined || seq > seqAbove) &&
      (seqAtMost === undefined || seq <= seqAtMost) &&
      (admit === undefined || admit(ts)) &&
      (accept === undefined || accept(segment, meta, i))
    );
  };
  const from = range === undefined ? 0 : Math.max(0, range.from);
  const to = range === undefined ? segment.count : Math.min(segment.count, range.to);
  const count = to - from;
  if (count <= 0) return;
  if (match.matchesAll) {
    for (let step = 0; step < count; step++) {
      const i = reverse === true ? to - 1 - step : from + step;
      if (passes(i)) onMatch(i);
      if (step % STEP_LINES === STEP_LINES - 1) yield;
    }
    return;
  }
  const fieldsAt = segment.fieldsAt;
  const lineText = (i: number): string => text.toString(meta.ascii ? 'latin1' : 'utf8', starts[i], starts[i]! + lengths[i]!);

  // A needle to walk with indexOf: a substring condition, else a literal some regex requires.
  const storedFields = segment.fieldsAt !== undefined;
  const candidates = [...match.substrings, ...match.hints].filter((s) => s.needle.length > 0 && !(storedFields && s.fromField === true));
  const driver = candidates.find((s) => !s.caseInsensitive);
  const insensitiveDriver = meta.ascii ? candidates.find((s) => s.caseInsensitive) : undefined;
  const onlyCondition = match.onlySubstring;
  if (driver !== undefined || insensitiveDriver !== undefined) {
    // Walk the hits of one needle; each hit names a line, checked in full, then skip to the next line.
    // Only the range's text is searched (a window of a segment must not cost a search of the
    // whole segment): positions in `region` are offset by `base` from positions in `text`.
    const base = starts[from]!;
    const regionEnd = starts[to - 1]! + lengths[to - 1]! + 1; // through the last line's \n
    // Positions within the region, -1 when none: of the needle's bytes, or of its lowercase
    // in the region lowercased.
    let indexIn: (at: number) => number;
    let lastIndexIn: (at: number) => number;
    let needleLength: number;
    if (driver !== undefined) {
      const needle = Buffer.from(driver.needle);
      const region = base === 0 && regionEnd === text.length ? text : text.subarray(base, regionEnd);
      needleLength = needle.length;
      indexIn = (at) => region.indexOf(needle, at);
      lastIndexIn = (at) => region.lastIndexOf(needle, at);
    } else {
      const lowered = text.toString('latin1', base, regionEnd).toLowerCase();
      const needle = insensitiveDriver!.needle;
      needleLength = needle.length;
      indexIn = (at) => lowered.indexOf(needle, at);
      lastIndexIn = (at) => lowered.lastIndexOf(needle, at);
    }
    const find = (at: number): number => {
      const found = indexIn(at - base);
      return found === -1 ? -1 : found + base;
    };
    const findLast = (at: number): number => {
      if (at < base) return -1;
      const found = lastIndexIn(at - base);
      return found === -1 ? -1 : found + base;
    };
    // From the end of line `to - 1` (its \n is never part of a hit within a line) or the start of line `from`.
    let position = reverse === true ? findLast(regionEnd - 2) : find(base);
    let hits = 0;
    while (position !== -1) {
      if (++hits % STEP_LINES === 0) yield;
      const i = lineIndexAt(starts, position);
      if (i < from || i >= to) return;
      const lineEnd = starts[i]! + lengths[i]!;
      if (position + needleLength > lineEnd) {
        // The hit spans a line break: not a match of this line.
        position = reverse === true ? findLast(position - 1) : find(position + 1);
        continue;
      }
      if (passes(i) && (onlyCondition || match.test(lineText(i), fieldsAt?.(i)))) onMatch(i);
      position = reverse === true ? findLast(starts[i]! - 1) : find(lineEnd + 1);
    }
    return;
  }
  for (let step = 0; step < count; step++) {
    const i = reverse === true ? to - 1 - step : from + step;
    if (passes(i) && match.test(lineText(i), fieldsAt?.(i))) onMatch(i);
    if (step % STEP_LINES === STEP_LINES - 1) yield;
  }
}

export function storedLineAt(meta: SegmentMeta, segment: DecodedSegment, i: number): StoredLine {
  // Built in one literal (no spread of lineAt's object): a page of 10,000 lines makes 10,000 of these.
  return {
    host: meta.host,
    fileId: meta.fileId,
    filename: meta.filename,
    path: meta.path,
    offset: segment.offsets[i]!,
    end: segment.ends[i]!,
    timestamp: segment.timestamps[i]!,
    line: segment.text.toString(meta.ascii ? 'latin1' : 'utf8', segment.starts[i], segment.starts[i]! + segment.lengths[i]!),
    cut: segment.cuts[i] === 1,
    seq: segment.seqs[i]!,
    ...(segment.fieldsAt !== undefined ? fieldsEntry(segment.fieldsAt(i)) : {}),
  };
}

function fieldsEntry(fields: Record<string, string> | undefined): { fields?: Record<string, string> } {
  return fields === undefined ? {} : { fields };
}
