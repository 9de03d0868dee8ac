/**
 * Per-segment term counts: for the words frequent in a segment's lines, the exact number of
 * lines that contain each word as a substring, case-sensitively and case-insensitively, so a
 * histogram of a bare word (`filter=ERROR`, `q=error`) adds numbers instead of decoding text.
 * Kept inside the segment's field statistics (field-stats.ts, version 3).
 *
 * Which words (chosen by frequency alone, never by name):
 * - a word is a maximal run of ASCII letters, digits and `_` in a line's bytes, 3 to 32 bytes
 *   long (a longer run is no word, and no part of it is);
 * - it is a candidate when it occurs in at least one line in 1,000 of the segment (and in at
 *   least 2 lines); of those, the `MAX_TERMS` in the most lines are kept (ties by first seen);
 * - besides, up to `MAX_INHERITED_TERMS` of the words the file's previous segment kept (the
 *   indexer passes them, its own frequent words first) are kept when some line here holds them
 *   as a word, however few: `ERROR` frequent in a file is then counted in its segments that
 *   hold it once, which otherwise were read whole for it, and it passes on down the file for as
 *   long as each segment holds it.
 *
 * What is counted (the query's substring semantics, not the words'): for each kept word, the
 * lines whose bytes contain it (a line with `ERRORS` counts for `ERROR`), and per lowercased
 * word the lines whose text lowercased as the matcher lowercases it (`String.toLowerCase`)
 * contains it. Both are found in one pass over the text's bytes by two Aho-Corasick automata
 * (one over the words as they are, one whose letters fold ASCII case), one count per line; a
 * word is ASCII, so its bytes occur in a line's UTF-8 exactly when its characters occur in the
 * decoded line. Folding ASCII case is the matcher's lowercasing on ASCII lines; a line with
 * other bytes is decoded and lowercased as the matcher does (`K` KELVIN SIGN lowercases to
 * `k`, `İ` to `i̇`) for its case-insensitive counts.
 *
 * The work is split so the indexer can run it in slices: `addLine` per line, then `scan` (the
 * words chosen in the first turn, then 32 KB of text a turn) until it returns false.
 */
import { ByteReader, type ByteWriter } from '../segment/codec.js';
import type { LineFilter } from './types.js';

/** Words kept per segment for their own frequency. */
export const MAX_TERMS = 256;
/**
 * Words kept besides those because the segment before it in the same file kept them (the
 * indexer passes them, field-stats-indexer.ts), when the segment holds them as a word at all.
 */
export const MAX_INHERITED_TERMS = 64;
/** A word counts as frequent in at least one line in this many. */
export const TERM_LINE_RATIO = 1_000;
/** Shortest and longest word (bytes). */
export const MIN_TERM_LENGTH = 3;
export const MAX_TERM_LENGTH = 32;

/**
 * The counts as lookups read them. The words are kept only inside `joined`, not as an array
 * of strings too: every segment's counts stay in memory, and at 10M lines a string per word
 * was over a million small strings in the heap that each full collection marks.
 */
interface Indexed {
  exact: Uint32Array;
  folded: Uint32Array;
  /** \n, then every word followed by \n. */
  joined: string;
  /** The same, lowercased (ASCII: the same positions). */
  lowered: string;
  /** Position of each word's leading \n in `joined`, ascending. */
  at: Int32Array;
}

function indexed(words: readonly string[], exact: Uint32Array, folded: Uint32Array): Indexed {
  const at = new Int32Array(words.length);
  let position = 0;
  words.forEach((word, index) => {
    at[index] = position;
    position += word.length + 1;
  });
  const joined = words.length === 0 ? '' : '\n' + words.join('\n') + '\n';
  return { exact, folded, joined, lowered: joined.toLowerCase(), at };
}

/** The words of an index, in order. */
function wordsOf(index: Indexed): string[] {
  return index.joined === '' ? [] : index.joined.slice(1, -1).split('\n');
}

/** Encoded: varint words | per word: string word, varint lines containing it, varint lines containing it lowercased. */
function parse(bytes: Buffer): Indexed {
  try {
    const reader = new ByteReader(bytes);
    const count = reader.varint();
    const words: string[] = [];
    const exact = new Uint32Array(count);
    const folded = new Uint32Array(count);
    for (let index = 0; index < count; index++) {
      const word = reader.string();
      if (!TERM.test(word)) throw new Error('not a word');
      words.push(word);
      exact[index] = reader.varint();
      folded[index] = reader.varint();
    }
    if (reader.position !== bytes.length) throw new Error('trailing bytes');
    return indexed(words, exact, folded);
  } catch {
    return indexed([], new Uint32Array(0), new Uint32Array(0)); // damaged: they answer nothing, the segment is read
  }
}

/**
 * The counts of one segment, kept compact (they stay in memory beside every segment's
 * statistics): read from their bytes on the first lookup (a query of fields never builds
 * them), then the words joined by \n in one string and per word its two counts. A word is
 * found with one indexOf of `\n` + word + `\n`.
 */
export class TermStats {
  private index: Indexed | undefined;

  private constructor(
    private encoded: Buffer | undefined,
    index: Indexed | undefined,
  ) {
    this.index = index;
  }

  /**
   * @param words the kept words
   * @param exact per word: lines containing it
   * @param folded per word: lines whose lowercased text contains it lowercased
   */
  static of(words: readonly string[], exact: Uint32Array, folded: Uint32Array): TermStats {
    return new TermStats(undefined, indexed(words, exact, folded));
  }

  /** The counts as `encode` wrote them, read when first asked. */
  static decode(bytes: Buffer): TermStats {
    return new TermStats(bytes, undefined);
  }

  encode(writer: ByteWriter): void {
    const index = this.get();
    const { exact, folded } = index;
    const words = wordsOf(index);
    writer.varint(words.length);
    words.forEach((word, index) => {
      writer.string(word);
      writer.varint(exact[index]!);
      writer.varint(folded[index]!);
    });
  }

  get words(): readonly string[] {
    return wordsOf(this.get());
  }

  /** Lines containing `needle` (lowercased by the caller when case-insensitive); undefined when it is no kept word. */
  lines(needle: string, caseInsensitive: boolean): number | undefined {
    return this.linesOf(termLookup(needle, caseInsensitive));
  }

  /** `lines` for a lookup made once per query (a histogram asks every segment the same). */
  linesOf(lookup: TermLookup): number | undefined {
    if (lookup.key === undefined) return undefined;
    const index = this.get();
    const position = (lookup.caseInsensitive ? index.lowered : index.joined).indexOf(lookup.key);
    if (position === -1) return undefined;
    const at = index.at;
    let low = 0;
    let high = at.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (at[middle]! <= position) low = middle;
      else high = middle - 1;
    }
    return (lookup.caseInsensitive ? index.folded : index.exact)[low];
  }

  private get(): Indexed {
    if (this.index === undefined) {
      this.index = parse(this.encoded!);
      this.encoded = undefined;
    }
    return this.index;
  }
}

/** A needle as `TermStats.linesOf` looks it up: undefined `key` when it can be no kept word. */
export interface TermLookup {
  readonly needle: string;
  readonly caseInsensitive: boolean;
  /** \n + needle + \n, as the words are joined. */
  readonly key: string | undefined;
}

/** The lookup of `needle` (lowercased by the caller when case-insensitive). */
export function termLookup(needle: string, caseInsensitive: boolean): TermLookup {
  return { needle, caseInsensitive, key: TERM.test(needle) ? '\n' + needle + '\n' : undefined };
}

/** What a kept word can be. */
const TERM = new RegExp(`^[A-Za-z0-9_]{${MIN_TERM_LENGTH},${MAX_TERM_LENGTH}}$`);

/** 1 for the bytes of a word: ASCII letters, digits, `_`. */
const WORD = new Uint8Array(256);
/** Byte -> symbol of the case-sensitive automaton (0: not a word byte), and of the folded one. */
const EXACT_CLASS = new Uint8Array(256);
const FOLDED_CLASS = new Uint8Array(256);
const EXACT_CLASSES = 64;
const FOLDED_CLASSES = 64; // 38 used, rounded up so a state's row is state << 6, as the exact automaton's
{
  let exact = 1;
  let folded = 1;
  for (let b = 0; b < 256; b++) {
    const c = String.fromCharCode(b);
    if (!/[A-Za-z0-9_]/.test(c)) continue;
    WORD[b] = 1;
    EXACT_CLASS[b] = exact++;
    if (!/[A-Z]/.test(c)) FOLDED_CLASS[b] = folded++;
  }
  for (let b = 65; b <= 90; b++) FOLDED_CLASS[b] = FOLDED_CLASS[b + 32]!;
}

/**
 * An Aho-Corasick automaton over word bytes: every occurrence of every pattern in one pass.
 * A byte that is no word byte leads back to the root (no pattern holds one).
 */
class Automaton {
  /**
   * (state << 6) + symbol -> (next state << 7) | 1 when a pattern ends at the next state: the
   * scan's next row is the value >> 1, and its state (for `outStart`) the value >> 7.
   */
  readonly table: Int32Array;
  /** Patterns ending at a state: outputs[outStart[s] .. outStart[s + 1]). */
  readonly outStart: Int32Array;
  readonly outputs: Int32Array;

  constructor(
    patterns: readonly string[],
    readonly classOf: Uint8Array,
    readonly classes: number,
  ) {
    let capacity = 1;
    for (const pattern of patterns) capacity += pattern.length;
    // The trie, then (in place, breadth first) the full transition table: -1 is "no child yet".
    const delta = new Int32Array(capacity * classes).fill(-1);
    const own: number[][] = [[]];
    let states = 1;
    patterns.forEach((pattern, index) => {
      let state = 0;
      for (let i = 0; i < pattern.length; i++) {
        const cell = state * classes + classOf[pattern.charCodeAt(i)]!;
        if (delta[cell] === -1) {
          delta[cell] = states++;
          own.push([]);
        }
        state = delta[cell]!;
      }
      own[state]!.push(index);
    });
    const fail = new Int32Array(states);
    const out: number[][] = own.map((list) => [...list]);
    const queue: number[] = [];
    delta[0] = 0;
    for (let symbol = 1; symbol < classes; symbol++) {
      const child = delta[symbol]!;
      if (child === -1) delta[symbol] = 0;
      else queue.push(child);
    }
    for (let q = 0; q < queue.length; q++) {
      const state = queue[q]!;
      out[state]!.push(...out[fail[state]!]!); // a pattern ends at one state only: no duplicates
      const row = state * classes;
      const failRow = fail[state]! * classes;
      delta[row] = 0;
      for (let symbol = 1; symbol < classes; symbol++) {
        const child = delta[row + symbol]!;
        if (child === -1) delta[row + symbol] = delta[failRow + symbol]!;
        else {
          fail[child] = delta[failRow + symbol]!;
          queue.push(child);
        }
      }
    }
    if (classes !== 64) throw new Error('an automaton has 64 symbols: a state\'s row is state << 6');
    this.table = new Int32Array(states * classes);
    for (let cell = 0; cell < this.table.length; cell++) {
      const next = delta[cell]!;
      this.table[cell] = (next << 7) | (out[next]!.length > 0 ? 1 : 0);
    }
    this.outStart = new Int32Array(states + 1);
    const flat: number[] = [];
    for (let state = 0; state < states; state++) {
      this.outStart[state] = flat.length;
      flat.push(...out[state]!);
    }
    this.outStart[states] = flat.length;
    this.outputs = Int32Array.from(flat);
  }
}

/** Bytes of text counted per `scan` turn (the indexer's slices stay short). */
const SCAN_BYTES = 32 * 1024;

/** The lines of `text` (each ending in \n) that contain `needle`, one count per line (tests' reference). */
export function linesContaining(text: Buffer, needle: Buffer): number {
  let count = 0;
  let position = text.indexOf(needle);
  while (position !== -1) {
    const lineEnd = text.indexOf(10, position);
    if (lineEnd === -1) break;
    count++;
    position = text.indexOf(needle, lineEnd + 1);
  }
  return count;
}

export class TermStatsBuilder {
  // Words seen, in an open-addressing table of their bytes' hashes (no string per occurrence).
  private slots = new Int32Array(1 << 12);
  private hashes = new Int32Array(1 << 10);
  private starts = new Int32Array(1 << 10);
  private lengths = new Uint8Array(1 << 10);
  private lineCounts = new Int32Array(1 << 10);
  private lastLines = new Int32Array(1 << 10);
  private words = 0;
  private lines = 0;
  /** Lines holding a byte >= 0x80, ascending: lowercased as the matcher lowercases them. */
  private readonly wide: number[] = [];
  // Set by `choose`.
  private chosen: { exact: string[]; folded: string[]; exactAutomaton: Automaton; foldedAutomaton: Automaton } | undefined;
  private exactCounts = new Int32Array(0);
  private foldedCounts = new Int32Array(0);
  private exactLast = new Int32Array(0);
  private foldedLast = new Int32Array(0);
  /** Per kept word, the index of its lowercased form in the folded words. */
  private foldedIndex: number[] = [];
  private position = 0;
  private line = 0;
  private nextWide = 0;

  /**
   * @param text the segment's text, every line followed by \n
   * @param ascii true when every byte is below 0x80
   * @param inherited words to count too when the text holds them as a word, though not frequent here
   *   (the words the file's previous segment kept), at most MAX_INHERITED_TERMS of them
   */
  constructor(
    private readonly text: Buffer,
    private readonly ascii: boolean,
    private readonly inherited: readonly string[] = [],
  ) {}

  /** Notes the words of the line text[start, end) (end: its \n). Lines are added in order, once each. */
  addLine(start: number, end: number): void {
    const line = this.lines++;
    const text = this.text;
    let wide = false;
    let i = start;
    while (i < end) {
      let b = text[i]!;
      if (WORD[b] === 0) {
        if (b >= 0x80) wide = true;
        i++;
        continue;
      }
      const from = i;
      let hash = -2128831035;
      do {
        hash = Math.imul(hash ^ b, 16777619);
        b = text[++i]!;
      } while (i < end && WORD[b] === 1);
      const length = i - from;
      if (length >= MIN_TERM_LENGTH && length <= MAX_TERM_LENGTH) this.note(from, length, hash, line);
    }
    if (wide && !this.ascii) this.wide.push(line);
  }

  private note(from: number, length: number, hash: number, line: number): void {
    const text = this.text;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const entry = this.slots[slot]! - 1;
      if (entry === -1) break;
      if (this.hashes[entry] === hash && this.lengths[entry] === length) {
        const at = this.starts[entry]!;
        let same = true;
        for (let k = 0; k < length; k++) {
          if (text[at + k] !== text[from + k]) {
            same = false;
            break;
          }
        }
        if (same) {
          if (this.lastLines[entry] !== line) {
            this.lastLines[entry] = line;
            this.lineCounts[entry]!++;
          }
          return;
        }
      }
      slot = (slot + 1) & mask;
    }
    const entry = this.words++;
    if (entry === this.hashes.length) this.growEntries();
    this.hashes[entry] = hash;
    this.starts[entry] = from;
    this.lengths[entry] = length;
    this.lineCounts[entry] = 1;
    this.lastLines[entry] = line;
    this.slots[slot] = entry + 1;
    if (this.words * 2 > this.slots.length) this.growSlots();
  }

  private growEntries(): void {
    const grow = <T extends Int32Array | Uint8Array>(array: T): T => {
      const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
      bigger.set(array);
      return bigger;
    };
    this.hashes = grow(this.hashes);
    this.starts = grow(this.starts);
    this.lengths = grow(this.lengths);
    this.lineCounts = grow(this.lineCounts);
    this.lastLines = grow(this.lastLines);
  }

  private growSlots(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.words; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
  }

  /** Whether some line holds `word` (ASCII, a valid word) as a whole word: looked up in the table of words seen. */
  private holds(word: string): boolean {
    let hash = -2128831035;
    for (let k = 0; k < word.length; k++) hash = Math.imul(hash ^ word.charCodeAt(k), 16777619);
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]! - 1;
      if (entry === -1) return false;
      if (this.hashes[entry] !== hash || this.lengths[entry] !== word.length) continue;
      const at = this.starts[entry]!;
      let same = true;
      for (let k = 0; k < word.length && same; k++) same = this.text[at + k] === word.charCodeAt(k);
      if (same) return true;
    }
  }

  /** Picks the words to count (after every line was added). */
  private choose(): NonNullable<TermStatsBuilder['chosen']> {
    const least = Math.max(2, Math.ceil(this.lines / TERM_LINE_RATIO));
    const frequent: number[] = [];
    for (let entry = 0; entry < this.words; entry++) if (this.lineCounts[entry]! >= least) frequent.push(entry);
    frequent.sort((a, b) => this.lineCounts[b]! - this.lineCounts[a]! || a - b);
    const exact = frequent.slice(0, MAX_TERMS).map((entry) => this.text.toString('latin1', this.starts[entry], this.starts[entry]! + this.lengths[entry]!));
    const taken = new Set(exact);
    let added = 0;
    for (const word of this.inherited) {
      if (added === MAX_INHERITED_TERMS) break;
      if (taken.has(word) || !TERM.test(word) || !this.holds(word)) continue;
      taken.add(word);
      exact.push(word);
      added++;
    }
    const folded = [...new Set(exact.map((word) => word.toLowerCase()))];
    this.foldedIndex = exact.map((word) => folded.indexOf(word.toLowerCase()));
    this.slots = new Int32Array(1);
    this.exactCounts = new Int32Array(exact.length);
    this.foldedCounts = new Int32Array(folded.length);
    this.exactLast = new Int32Array(exact.length).fill(-1);
    this.foldedLast = new Int32Array(folded.length).fill(-1);
    return {
      exact,
      folded,
      exactAutomaton: new Automaton(exact, EXACT_CLASS, EXACT_CLASSES),
      foldedAutomaton: new Automaton(folded, FOLDED_CLASS, FOLDED_CLASSES),
    };
  }

  /** Counts the words over the next part of the text; false when the whole text is counted. */
  scan(): boolean {
    if (this.chosen === undefined) {
      this.chosen = this.choose(); // choosing is this turn's work
      if (this.chosen.exact.length === 0) this.position = this.text.length;
      return this.position < this.text.length;
    }
    const chosen = this.chosen;
    const text = this.text;
    if (this.position >= text.length) return false;
    const { table: exactTable, outStart: exactStart, outputs: exactOut } = chosen.exactAutomaton;
    const { table: foldedTable, outStart: foldedStart, outputs: foldedOut } = chosen.foldedAutomaton;
    const exactCounts = this.exactCounts;
    const foldedCounts = this.foldedCounts;
    const exactLast = this.exactLast;
    const foldedLast = this.foldedLast;
    const stop = Math.min(text.length, this.position + SCAN_BYTES);
    let line = this.line;
    let wideLine = this.wide[this.nextWide] === line;
    let lineStart = this.position;
    let exactRow = 0;
    let foldedRow = 0;
    let i = this.position;
    for (; i < text.length; i++) {
      const b = text[i]!;
      if (b === 10) {
        if (wideLine) {
          this.foldWideLine(lineStart, i, line, chosen.folded);
          this.nextWide++;
        }
        line++;
        exactRow = 0;
        foldedRow = 0;
        lineStart = i + 1;
        wideLine = this.wide[this.nextWide] === line;
        if (i + 1 >= stop) {
          i++;
          break;
        }
        continue;
      }
      const exact = exactTable[exactRow + EXACT_CLASS[b]!]!;
      exactRow = exact >> 1;
      if ((exact & 1) === 1) {
        const state = exact >> 7;
        for (let k = exactStart[state]!, last = exactStart[state + 1]!; k < last; k++) {
          const p = exactOut[k]!;
          if (exactLast[p] !== line) {
            exactLast[p] = line;
            exactCounts[p]!++;
          }
        }
      }
      if (wideLine) continue;
      const folded = foldedTable[foldedRow + FOLDED_CLASS[b]!]!;
      foldedRow = folded >> 1;
      if ((folded & 1) === 1) {
        const state = folded >> 7;
        for (let k = foldedStart[state]!, last = foldedStart[state + 1]!; k < last; k++) {
          const p = foldedOut[k]!;
          if (foldedLast[p] !== line) {
            foldedLast[p] = line;
            foldedCounts[p]!++;
          }
        }
      }
    }
    this.position = i;
    this.line = line;
    return i < text.length;
  }

  /** The folded counts of a line holding other bytes than ASCII: lowercased as the matcher does. */
  private foldWideLine(start: number, end: number, line: number, folded: readonly string[]): void {
    const lowered = this.text.toString('utf8', start, end).toLowerCase();
    for (let p = 0; p < folded.length; p++) {
      if (this.foldedLast[p] !== line && lowered.includes(folded[p]!)) {
        this.foldedLast[p] = line;
        this.foldedCounts[p]!++;
      }
    }
  }

  get done(): boolean {
    return this.chosen !== undefined && this.position >= this.text.length;
  }

  finish(): TermStats {
    while (this.scan());
    const chosen = this.chosen!;
    return TermStats.of(chosen.exact, Uint32Array.from(this.exactCounts), Uint32Array.from(this.foldedIndex, (index) => this.foldedCounts[index]!));
  }
}

/** The term counts of a segment's text (every line followed by \n) in one go. */
export function termStatsOfText(text: Buffer, ascii: boolean): TermStats {
  const builder = new TermStatsBuilder(text, ascii);
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf(10, start);
    builder.addLine(start, end);
    start = end + 1;
  }
  return builder.finish();
}

/**
 * The substring a histogram can count from term counts: a filter of one substring condition
 * (`filter=`, `ifilter=`-like) or a `q` that is one bare word, and nothing else. The needle is
 * lowercased when the match is case-insensitive, as the matcher lowercases it.
 */
export function termCountable(filter: LineFilter): TermLookup | undefined {
  const match = filter.match;
  if (match?.length !== 1) return undefined;
  const only = match[0]!;
  if (only.kind === 'substring') return termLookup(only.caseInsensitive ? only.text.toLowerCase() : only.text, only.caseInsensitive);
  if (only.kind === 'query' && only.node.kind === 'text') {
    return termLookup(only.caseSensitive ? only.node.text : only.node.text.toLowerCase(), !only.caseSensitive);
  }
  return undefined;
}
