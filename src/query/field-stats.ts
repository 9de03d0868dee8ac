/**
 * Per-segment field statistics: for each field the segment's lines have, how many lines have
 * it, and for a field of few distinct values the exact count of each value. Computed once per
 * sealed segment (by the same extraction a query reads fields with, fields.ts), stored beside
 * the segment, and added up by the field explorer and the histogram (segment-field-counts.ts)
 * instead of decoding and extracting every line of a segment again for every request.
 *
 * `host` and `file` are left out: they are the segment's metadata, and a line's `host` and
 * `file` fields are always those (routes/fields.ts `fieldsOfLine`).
 *
 * Version 2 also holds the segment's term counts (term-stats.ts): the lines containing each of
 * its frequent words, so a histogram of a bare word needs no text either. Version 3 is counted
 * by the extraction that reads `level` in more of the shapes software writes it (Android,
 * Apache's `[core:error]`, Serilog, a syslog priority...): the counts of versions 1 and 2 were
 * made by older rules and are read as no statistics, so the segment is read and the indexer
 * counts it again.
 *
 * Encoded (varints LEB128):
 *   u8 version (3) | u8 flags (bit 0: every name is listed; bit 1: term counts follow) |
 *   varint minSeq | varint maxSeq |
 *   varint lines | varint names | per name: string name, varint lines, varint v, then when
 *   v > 0 (v - 1) pairs of string value, varint lines. v = 0: too many values to keep.
 *   With bit 1: varint words | per word: string word, varint lines containing it,
 *   varint lines containing it when both are lowercased.
 *   With bit 2 (value spans): varint base | per name whose values are kept, per value in
 *   the order above: zigzag (first - base), varint (last - first), in epoch milliseconds
 *   (floored) of the first and last line holding the value. Statistics without it are still
 *   read; a histogram then reads a segment that straddles a bucket.
 * A string is a varint byte length and its UTF-8. The seqs bind the statistics to the one
 * segment they were computed from (a store that reuses ids can tell stale ones).
 */
import { ByteReader, ByteWriter, payloadTextAndTimes } from '../segment/codec.js';
import { extractFields } from './fields.js';
import { bucketStartMs } from './histogram.js';
import { termStatsOfText, TermStats } from './term-stats.js';

/** Distinct values kept per field per segment; past it the field's values are not kept. */
export const MAX_STAT_VALUES = 64;
/** A value longer than this (UTF-16 units) is not kept either: the field's values are then not kept. */
export const MAX_STAT_VALUE_LENGTH = 64;
/** Field names kept per segment; past it `allNames` is false and names not listed may exist. */
export const MAX_STAT_NAMES = 256;

/** The version written and the only one `decodeFieldStats` reads (older ones are counted again). */
export const FIELD_STATS_VERSION = 3;
const ALL_NAMES = 1;
const WITH_TERMS = 2;
const WITH_SPANS = 4;
/**
 * The rest after the flags is compressed (packFieldStats): its length before, then the packed
 * bytes. Only the store that packs a row reads it (decodeFieldStats given `unpack`).
 */
const PACKED = 8;

/** Epoch milliseconds of a line holding a value, floored (so a bucket of whole ms holds it as its nanoseconds). */
export interface ValueSpan {
  firstMs: number;
  lastMs: number;
}

/** Epoch milliseconds of a nanosecond timestamp, floored: the start of its 1 ms bucket, so any wider bucket of whole ms holds both alike. */
export function floorMs(timestamp: bigint): number {
  return bucketStartMs(timestamp, 1);
}

/**
 * A field's kept values and the lines holding each, in the order first seen: the texts in one
 * array, the counts in an array of numbers the segment's fields share. A Daniel holds the
 * statistics of thousands of segments (the histogram and the field explorer read them on every
 * request), and every full collection marks them again: as a map per field and a map of span
 * objects per field, they were over a million objects after a 10M-line ingest, and paging every
 * ERROR on that Daniel took 2.9 s a run against 2.4 s with the statistics cache left empty.
 */
export class ValueCounts implements Iterable<[string, number]> {
  constructor(
    readonly texts: readonly string[],
    private readonly numbers: Float64Array,
    /** Where this field's counts start in `numbers`. */
    private readonly from: number,
  ) {}

  get size(): number {
    return this.texts.length;
  }

  /** Lines holding `value` (found among at most MAX_STAT_VALUES texts), or undefined. */
  get(value: string): number | undefined {
    const at = this.indexOf(value);
    return at < 0 ? undefined : this.numbers[this.from + at];
  }

  /** Where `value` is among the kept values, or -1. */
  indexOf(value: string): number {
    return this.texts.indexOf(value);
  }

  keys(): IterableIterator<string> {
    return this.texts.values();
  }

  *[Symbol.iterator](): IterableIterator<[string, number]> {
    for (let i = 0; i < this.texts.length; i++) yield [this.texts[i]!, this.numbers[this.from + i]!];
  }
}

/** The spans of a field's kept values, in their order: pairs of floored ms in an array the segment's fields share. */
export class ValueSpans {
  constructor(
    private readonly values: ValueCounts,
    private readonly ms: Float64Array,
    /** Where this field's pairs start in `ms`. */
    private readonly from: number,
  ) {}

  get size(): number {
    return this.values.size;
  }

  /** The span of `value`, or undefined. */
  get(value: string): ValueSpan | undefined {
    const i = this.values.indexOf(value);
    return i < 0 ? undefined : this.at(i);
  }

  /** Every value's span, in the order of the values. */
  entries(): Array<[string, ValueSpan]> {
    return this.values.texts.map((text, i) => [text, this.at(i)]);
  }

  private at(i: number): ValueSpan {
    const at = this.from + 2 * i;
    return { firstMs: this.ms[at]!, lastMs: this.ms[at + 1]! };
  }
}

export interface FieldStat {
  /** Lines having the field. */
  lines: number;
  /** Lines per value; undefined when the field had too many values (or too long ones) to keep. */
  values: ValueCounts | undefined;
  /** Per kept value, the times of its first and last line; absent in statistics written without them. */
  spans?: ValueSpans;
}

/** A field as the builder counts it: its spans as objects it can widen. */
interface BuildingStat {
  lines: number;
  values: Map<string, number> | undefined;
  spans: Map<string, ValueSpan> | undefined;
}

/**
 * Decoded names and values, by their text: the same few (`level`, `error`, a service's name)
 * recur in every segment, and each segment's statistics would otherwise hold copies of their
 * own. Bounded: past INTERNED texts, a text is kept as decoded.
 */
const interned = new Map<string, string>();
const INTERNED = 65_536;

function intern(text: string): string {
  const known = interned.get(text);
  if (known !== undefined) return known;
  if (interned.size < INTERNED) interned.set(text, text);
  return text;
}

export interface FieldStats {
  minSeq: number;
  maxSeq: number;
  /** Lines counted: the segment's every line. */
  lines: number;
  /** False when the segment had more names than kept: a name not in `fields` may still be in a line. */
  allNames: boolean;
  fields: Map<string, FieldStat>;
  /** The segment's term counts; undefined when they were not counted. */
  terms?: TermStats;
}

/** Builds the statistics of one segment line by line. */
export class FieldStatsBuilder {
  private readonly fields = new Map<string, BuildingStat>();
  private allNames = true;
  private lines = 0;
  /** False once a line came without its timestamp: the statistics then keep no spans. */
  private timed = true;

  add(fields: Readonly<Record<string, string>>, timestamp?: bigint): void {
    this.lines++;
    if (timestamp === undefined) this.timed = false;
    const ms = this.timed ? floorMs(timestamp!) : 0;
    for (const name in fields) {
      if (name === 'host' || name === 'file') continue;
      let stat = this.fields.get(name);
      if (stat === undefined) {
        if (this.fields.size >= MAX_STAT_NAMES) {
          this.allNames = false;
          continue;
        }
        stat = { lines: 0, values: new Map(), spans: new Map() };
        this.fields.set(name, stat);
      }
      stat.lines++;
      const values = stat.values;
      if (values === undefined) continue;
      const value = fields[name]!;
      const count = values.get(value);
      if (count !== undefined) {
        values.set(value, count + 1);
        const span = stat.spans!.get(value)!;
        if (ms < span.firstMs) span.firstMs = ms;
        if (ms > span.lastMs) span.lastMs = ms;
      } else if (values.size >= MAX_STAT_VALUES || value.length > MAX_STAT_VALUE_LENGTH) {
        stat.values = undefined;
        stat.spans = undefined;
      } else {
        values.set(value, 1);
        stat.spans!.set(value, { firstMs: ms, lastMs: ms });
      }
    }
  }

  finish(minSeq: number, maxSeq: number, terms?: TermStats): FieldStats {
    let kept = 0;
    for (const stat of this.fields.values()) kept += stat.values?.size ?? 0;
    const counts = new Float64Array(kept);
    const ms = new Float64Array(this.timed ? kept * 2 : 0);
    const fields = new Map<string, FieldStat>();
    let at = 0;
    for (const [name, stat] of this.fields) {
      if (stat.values === undefined) {
        fields.set(name, { lines: stat.lines, values: undefined });
        continue;
      }
      const texts = [...stat.values.keys()];
      const values = new ValueCounts(texts, counts, at);
      const spans = this.timed ? new ValueSpans(values, ms, 2 * at) : undefined;
      for (const text of texts) {
        counts[at] = stat.values.get(text)!;
        if (spans !== undefined) {
          const span = stat.spans!.get(text)!;
          ms[2 * at] = span.firstMs;
          ms[2 * at + 1] = span.lastMs;
        }
        at++;
      }
      fields.set(name, spans === undefined ? { lines: stat.lines, values } : { lines: stat.lines, values, spans });
    }
    return { minSeq, maxSeq, lines: this.lines, allNames: this.allNames, fields, ...(terms === undefined ? {} : { terms }) };
  }
}

/** The statistics of a decompressed segment payload: every line's fields extracted once, and its term counts. */
export function fieldStatsOfPayload(payload: Buffer, minSeq: number, maxSeq: number, ascii: boolean): FieldStats {
  const { count, text, fieldsAt, timestamps } = payloadTextAndTimes(payload);
  const builder = new FieldStatsBuilder();
  for (let start = 0, i = 0; i < count; i++) {
    const end = text.indexOf(10, start);
    builder.add(extractFields(text.toString('utf8', start, end), fieldsAt?.(i)), timestamps[i]);
    start = end + 1;
  }
  return builder.finish(minSeq, maxSeq, termStatsOfText(text, ascii));
}

/** Whether every field whose values are kept has their spans (the builder keeps both or neither). */
function withSpans(stats: FieldStats): boolean {
  for (const stat of stats.fields.values()) if (stat.values !== undefined && stat.spans?.size !== stat.values.size) return false;
  return true;
}

/** Encodes `stats` in FIELD_STATS_VERSION. */
export function encodeFieldStats(stats: FieldStats): Buffer {
  const writer = new ByteWriter();
  writer.varint(FIELD_STATS_VERSION);
  const spans = withSpans(stats);
  writer.varint((stats.allNames ? ALL_NAMES : 0) | (stats.terms === undefined ? 0 : WITH_TERMS) | (spans ? WITH_SPANS : 0));
  writer.varint(stats.minSeq);
  writer.varint(stats.maxSeq);
  writer.varint(stats.lines);
  writer.varint(stats.fields.size);
  for (const [name, stat] of stats.fields) {
    writer.string(name);
    writer.varint(stat.lines);
    if (stat.values === undefined) {
      writer.varint(0);
      continue;
    }
    writer.varint(stat.values.size + 1);
    for (const [value, lines] of stat.values) {
      writer.string(value);
      writer.varint(lines);
    }
  }
  if (spans) {
    let base = Infinity;
    const kept: ValueSpan[] = [];
    for (const stat of stats.fields.values()) if (stat.values !== undefined) for (const [, span] of stat.spans!.entries()) kept.push(span);
    for (const span of kept) base = Math.min(base, span.firstMs);
    if (base === Infinity) base = 0;
    writer.zigzag(base);
    for (const span of kept) {
      writer.zigzag(span.firstMs - base);
      writer.varint(span.lastMs - span.firstMs);
    }
  }
  stats.terms?.encode(writer);
  return Buffer.from(writer.bytes()); // a copy of its own size, not a view of the writer's larger buffer
}

/**
 * `encoded` (encodeFieldStats) with the rest after its flags compressed by `pack`, when that is
 * smaller: a segment's statistics are mostly words and values that repeat (on the bench's 10M
 * lines, 15.3 MB of rows took 9.6 MB with Zstandard level 15).
 */
export function packFieldStats(encoded: Buffer, pack: (body: Buffer) => Buffer): Buffer {
  const head = new ByteReader(encoded);
  const version = head.varint();
  const flags = head.varint();
  if (version !== FIELD_STATS_VERSION || (flags & PACKED) !== 0) return encoded;
  const body = encoded.subarray(head.position);
  const writer = new ByteWriter();
  writer.varint(version);
  writer.varint(flags | PACKED);
  writer.varint(body.length);
  const packed = Buffer.concat([writer.bytes(), pack(body)]);
  return packed.length < encoded.length ? packed : encoded;
}

/** The bytes a row of statistics takes decoded: a packed row's length before packing. */
export function unpackedLength(bytes: Uint8Array): number {
  try {
    const head = new ByteReader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    head.varint();
    const flags = head.varint();
    if ((flags & PACKED) === 0) return bytes.length;
    const at = head.position;
    return at + head.varint();
  } catch {
    return bytes.length;
  }
}

/**
 * The statistics in `bytes`, or undefined when they are of a version this code does not know or
 * damaged. A packed row (packFieldStats) needs `unpack`, given the packed bytes and the length
 * they unpack to; without it, it answers undefined.
 */
export function decodeFieldStats(bytes: Uint8Array, unpack?: (packed: Buffer, length: number) => Buffer): FieldStats | undefined {
  const stored = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const head = new ByteReader(stored);
    if (head.varint() !== FIELD_STATS_VERSION) return undefined;
    const flags = head.varint();
    let buffer: Buffer;
    if ((flags & PACKED) !== 0) {
      if (unpack === undefined) return undefined;
      const length = head.varint();
      buffer = unpack(stored.subarray(head.position), length);
      if (buffer.length !== length) return undefined;
    } else {
      buffer = stored.subarray(head.position);
    }
    const reader = new ByteReader(buffer);
    const varint = (): number => reader.varint();
    const string = (): string => reader.string();
    const allNames = (flags & ALL_NAMES) !== 0;
    const minSeq = varint();
    const maxSeq = varint();
    const lines = varint();
    const names = varint();
    // Read first as texts and counts, then made compact (ValueCounts) once the number of values is known.
    const read: Array<{ name: string; lines: number; texts: string[] | undefined; counts: number[] }> = [];
    let kept = 0;
    for (let n = 0; n < names; n++) {
      const name = intern(string());
      const lines = varint();
      const values = varint();
      const texts: string[] | undefined = values > 0 ? [] : undefined;
      const counts: number[] = [];
      for (let v = 0; v < values - 1; v++) {
        texts!.push(intern(string()));
        counts.push(varint());
      }
      kept += counts.length;
      read.push({ name, lines, texts, counts });
    }
    const numbers = new Float64Array(kept);
    const fields = new Map<string, FieldStat>();
    let at = 0;
    for (const { name, lines, texts, counts } of read) {
      if (texts === undefined) {
        fields.set(name, { lines, values: undefined });
        continue;
      }
      numbers.set(counts, at);
      fields.set(name, { lines, values: new ValueCounts(texts, numbers, at) });
      at += counts.length;
    }
    if ((flags & WITH_SPANS) !== 0) {
      const base = reader.zigzag();
      const ms = new Float64Array(kept * 2);
      at = 0;
      for (const stat of fields.values()) {
        if (stat.values === undefined) continue;
        stat.spans = new ValueSpans(stat.values, ms, at);
        for (let v = 0; v < stat.values.size; v++) {
          const firstMs = base + reader.zigzag();
          ms[at++] = firstMs;
          ms[at++] = firstMs + varint();
        }
      }
    }
    let terms: TermStats | undefined;
    if ((flags & WITH_TERMS) !== 0) {
      // The rest: read on the first lookup of a word (a damaged rest answers no word).
      terms = TermStats.decode(Buffer.from(buffer.subarray(reader.position)));
    } else if (reader.position !== buffer.length) {
      return undefined;
    }
    return { minSeq, maxSeq, lines, allNames, fields, ...(terms === undefined ? {} : { terms }) };
  } catch {
    return undefined;
  }
}
