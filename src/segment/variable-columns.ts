/**
 * The variable columns: a lossless rearrangement of a segment's payload that Zstandard
 * compresses better, used for sealed segments once they are repacked (compression.ts, codec 3).
 *
 * Log lines are templates with variables in them (`Received block blk_-562 of size 67108864
 * from /10.251.42.84`). Each whole word that is a run of hexadecimal digits holding at least
 * one decimal digit is a variable: it leaves the text, which keeps a marker naming its
 * position in the line (the first variable of a line, the second, ... the twelfth and later
 * share the last), and its characters go, followed by a comma, to the column of that
 * position. The templates then repeat byte for byte across lines, and each column holds
 * values of one kind (the hours of a timestamp, the ports of an address) beside each other,
 * where the text had them between unlike bytes. Measured on the bench's stored segments at
 * level 9: 0.811 of the bytes plain Zstandard needs (decimal runs alone: 0.847; deltas of
 * their numbers: 0.949, worse).
 *
 * A word is a maximal run of `0-9A-Za-z_`; a variable is a word all of `0-9a-fA-F` with a
 * decimal digit. Markers are the bytes 0x0E-0x19 (position 0-11); a byte 0x0E-0x1A of the
 * text itself is written as 0x1A followed by it. The bytes before `textStart` (the payload's
 * own binary columns) are kept as they are, ahead of the templates.
 *
 * The arranged form: the kept prefix, the templates, then the 12 columns, end to end; their
 * lengths (`ArrangedLengths`) travel beside it.
 */

import { createRequire } from 'node:module';

/** Columns of an arrangement (the twelfth and later variables of a line share the last); a codec 3 header lists all their lengths. */
export const VARIABLE_COLUMNS = 12;
const COLUMNS = VARIABLE_COLUMNS;
const FIRST_MARK = 0x0e;
const ESCAPE = 0x1a;
const COMMA = 0x2c;

/** Per byte: 1 for a word byte (`0-9A-Za-z_`), 2 more for a hex digit, 4 more for a decimal digit. */
const CLASS = Uint8Array.from({ length: 256 }, (_, b) => {
  const digit = b >= 48 && b <= 57;
  const hex = digit || (b >= 97 && b <= 102) || (b >= 65 && b <= 70);
  const word = hex || (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b === 95;
  return (word ? 1 : 0) | (hex ? 2 : 0) | (digit ? 4 : 0);
});

export interface ArrangedLengths {
  prefix: number;
  templates: number;
  columns: number[];
}

export interface Arrangement {
  arranged: Buffer;
  lengths: ArrangedLengths;
}

/** Grown scratch space, reused between calls on a thread. */
let templates = new Uint8Array(0);
/** Each column's scratch, grown as values come (a segment's variables mostly fill a few columns). */
const columns: Uint8Array[] = Array.from({ length: COLUMNS }, () => new Uint8Array(4096));

/** `column` with room for `need` bytes, its first `used` kept. */
function grown(column: Uint8Array, used: number, need: number): Uint8Array {
  let size = column.length * 2;
  while (size < need) size *= 2;
  const bigger = new Uint8Array(size);
  bigger.set(column.subarray(0, used));
  return bigger;
}

/** Text bytes arranged between two looks at `stopped` (about a third of a millisecond). */
const STOP_CHECK_BYTES = 64 * 1024;

/**
 * The payload arranged (see above): one buffer and the lengths of its parts. `stopped` is asked
 * every STOP_CHECK_BYTES of text (the repacker's flag: arranging a segment takes ~3 ms);
 * undefined when it answered true.
 */
export function arrangeVariables(payload: Uint8Array, textStart: number): Arrangement;
export function arrangeVariables(payload: Uint8Array, textStart: number, stopped: () => boolean): Arrangement | undefined;
export function arrangeVariables(payload: Uint8Array, textStart: number, stopped?: () => boolean): Arrangement | undefined {
  const end = payload.length;
  const textLength = end - textStart;
  // At most two bytes a text byte (an escaped one).
  if (templates.length < textLength * 2) templates = new Uint8Array(textLength * 2);
  const fill = new Int32Array(COLUMNS);
  const out = templates;
  let t = 0;
  let position = 0;
  let i = textStart;
  let nextCheck = stopped === undefined ? Infinity : textStart;
  while (i < end) {
    if (i >= nextCheck) {
      if (stopped!()) return undefined;
      nextCheck = i + STOP_CHECK_BYTES;
    }
    const b = payload[i]!;
    const kind = CLASS[b]!;
    if (kind === 0) {
      if (b === 10) position = 0;
      else if (b >= FIRST_MARK && b <= ESCAPE) out[t++] = ESCAPE;
      out[t++] = b;
      i++;
      continue;
    }
    // A word: hex with a decimal digit is a variable, anything else stays in the template.
    let all = kind;
    let w = i + 1;
    let k = kind;
    while (w < end && (k = CLASS[payload[w]!]!) !== 0) {
      all &= k | 4;
      all |= k & 4;
      w++;
    }
    if ((all & 6) === 6) {
      const c = position < COLUMNS - 1 ? position : COLUMNS - 1;
      let f = fill[c]!;
      if (f + (w - i) + 1 > columns[c]!.length) columns[c] = grown(columns[c]!, f, f + (w - i) + 1);
      const column = columns[c]!;
      for (let x = i; x < w; x++) column[f++] = payload[x]!;
      column[f++] = COMMA;
      fill[c] = f;
      out[t++] = FIRST_MARK + c;
      position++;
    } else {
      for (let x = i; x < w; x++) out[t++] = payload[x]!;
    }
    i = w;
  }
  let total = textStart + t;
  for (let c = 0; c < COLUMNS; c++) total += fill[c]!;
  const arranged = Buffer.allocUnsafe(total);
  arranged.set(payload.subarray(0, textStart), 0);
  arranged.set(out.subarray(0, t), textStart);
  let at = textStart + t;
  for (let c = 0; c < COLUMNS; c++) {
    arranged.set(columns[c]!.subarray(0, fill[c]), at);
    at += fill[c]!;
  }
  return { arranged, lengths: { prefix: textStart, templates: t, columns: Array.from(fill) } };
}

/** The restorer in C (native/bloom.c, the same addon as the bloom builder): the same bytes as restoreVariablesJs, about 4x faster. */
interface NativeRestore {
  restore(arranged: Uint8Array, lengths: Int32Array, out: Uint8Array): number;
}

function loadNativeRestore(): NativeRestore | undefined {
  if (process.env.DANIEL_JS_RESTORE === '1') return undefined;
  try {
    const addon = createRequire(import.meta.url)('../../native/build/Release/bloom.node') as Partial<NativeRestore>;
    return typeof addon.restore === 'function' ? (addon as NativeRestore) : undefined;
  } catch {
    return undefined;
  }
}
const nativeRestore = loadNativeRestore();
const nativeLengths = new Int32Array(2 + COLUMNS);

/** The bytes of the arrangement `lengths` describes: its prefix, templates and columns end to end. */
export function arrangedLength(lengths: ArrangedLengths): number {
  let total = lengths.prefix + lengths.templates;
  for (const bytes of lengths.columns) total += bytes;
  return total;
}

/** Whether arranged payloads are restored by the C restorer in this process. */
export function nativeRestoreLoaded(): boolean {
  return nativeRestore !== undefined;
}

/** The payload back from its arranged form, into `out` (exactly the payload's length). Throws on bytes that are no arrangement of that length. */
export function restoreVariables(arranged: Uint8Array, lengths: ArrangedLengths, out: Uint8Array): void {
  if (nativeRestore === undefined) return restoreVariablesJs(arranged, lengths, out);
  if (lengths.columns.length !== COLUMNS) throw new Error('Segment blob has a wrong count of variable columns.');
  // Written into the one Int32Array the addon reads: no array a decode (this runs for every repacked segment read).
  for (let i = 0; i < nativeLengths.length; i++) {
    const value = i === 0 ? lengths.prefix : i === 1 ? lengths.templates : lengths.columns[i - 2]!;
    if (!(value >= 0 && value <= 0x7fffffff)) throw new Error('Segment blob variable columns do not match their lengths.');
    nativeLengths[i] = value;
  }
  const written = nativeRestore.restore(arranged, nativeLengths, out);
  if (written !== out.length) throw new Error(`Segment blob restores ${written < 0 ? 'no' : written} bytes, its header says ${out.length}.`);
}

/** restoreVariables in JavaScript: where the C restorer is not built, and what it is tested against. */
export function restoreVariablesJs(arranged: Uint8Array, lengths: ArrangedLengths, out: Uint8Array): void {
  if (lengths.columns.length !== COLUMNS) throw new Error('Segment blob has a wrong count of variable columns.');
  const { prefix, templates: templateBytes } = lengths;
  let total = prefix + templateBytes;
  const starts = new Int32Array(COLUMNS);
  const ends = new Int32Array(COLUMNS);
  for (let c = 0; c < COLUMNS; c++) {
    starts[c] = total;
    total += lengths.columns[c]!;
    ends[c] = total;
  }
  if (total !== arranged.length || prefix > out.length) throw new Error('Segment blob variable columns do not match their lengths.');
  out.set(arranged.subarray(0, prefix), 0);
  const limit = out.length;
  let o = prefix;
  const templateEnd = prefix + templateBytes;
  for (let t = prefix; t < templateEnd; t++) {
    const b = arranged[t]!;
    if (b < FIRST_MARK || b > ESCAPE) {
      out[o++] = b;
    } else if (b === ESCAPE) {
      if (t + 1 >= templateEnd) throw new Error('Segment blob templates end inside an escape.');
      out[o++] = arranged[++t]!;
    } else {
      const c = b - FIRST_MARK;
      let p = starts[c]!;
      const stop = ends[c]!;
      for (;;) {
        if (p >= stop) throw new Error('Segment blob variable column ends early.');
        const v = arranged[p++]!;
        if (v === COMMA) break;
        out[o++] = v;
      }
      starts[c] = p;
    }
    if (o > limit) break;
  }
  if (o !== limit) throw new Error(`Segment blob restores ${o} bytes, its header says ${limit}.`);
}
