/**
 * What storing a segment's lines as templates and variables would give (the column layout of
 * CLP and logzip), beside Zstandard on the plain text, on segment-sized runs of the bench's
 * own data. Measured, not built into the store: a probe for issue 17's storage target.
 *
 * The layout probed: each line's alphanumeric words that hold a digit are its variables (a
 * decimal number without a leading zero, up to 15 digits, as a number; any other such word as
 * text), the rest of the line its template. A run's distinct templates form a dictionary; each
 * line is a template id; each template's variable slots are columns, numbers stored as the
 * difference from the same column's previous value (zigzag varints), texts joined by newlines.
 * Each of the five streams (dictionary, ids, numbers, texts, and lines kept whole because they
 * hold the placeholder bytes) is compressed alone. Every run is decoded back and compared.
 *
 *   node --import tsx bench/columns-probe.ts [--lines N] [--run-kib 512]
 *
 * Prints, per codec: compressed size over the raw text, and MB of text per CPU-second to
 * encode and to decode (decode: decompress and rebuild the text, as a search would need it).
 */
import { parseArgs } from 'node:util';
import { zstd } from '../src/common/zstd.js';
import { generateData } from './lib/datagen.js';
import { loghubDir, workDir } from './lib/paths.js';
import { linePieces } from './lib/pieces.js';
import { cpuSecondsOf } from './lib/stats.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '1000000' }, 'run-kib': { type: 'string', default: '512' } } });
const data = generateData(loghubDir(), { seed: 20261124, totalLines: Number(values.lines), hosts: ['web-1', 'db-1'], baseDir: workDir, log: (m) => console.error(m) });
const RUN = Number(values['run-kib']) * 1024;

const inputs = data.files.filter((f) => f.host === 'web-1').flatMap((f) => linePieces(f.path, 6, RUN));

const cctx = new zstd.CCtx();
const dctx = new zstd.DCtx();
function pack(input: Buffer, level: number): Buffer {
  const out = Buffer.allocUnsafe(zstd.compressBound(input.length));
  return Buffer.from(out.subarray(0, cctx.compress(out, input, level)));
}
function unpack(packed: Buffer, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  return out.subarray(0, dctx.decompress(out, packed));
}

const NUMBER = '\u0001';
const TEXT = '\u0002';
const WORD = /[A-Za-z0-9]+/g;
const DIGIT = /[0-9]/;
const PLAIN_NUMBER = /^(?:0|[1-9][0-9]{0,14})$/;

class Varints {
  private bytes: number[] = [];
  push(value: number): void {
    while (value >= 0x80) {
      this.bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.bytes.push(value);
  }
  buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

interface Streams {
  dictionary: Buffer;
  ids: Buffer;
  numbers: Buffer;
  texts: Buffer;
  whole: Buffer;
}

function encodeColumns(text: Buffer): Streams {
  const lines = text.toString('latin1').split('\n');
  lines.pop(); // every line ends with \n
  const templates = new Map<string, number>();
  const numberColumns: number[][][] = [];
  const textColumns: string[][][] = [];
  const ids = new Varints();
  const whole: string[] = [];
  for (const line of lines) {
    if (line.includes(NUMBER) || line.includes(TEXT)) {
      ids.push(0);
      whole.push(line);
      continue;
    }
    const numbers: number[] = [];
    const texts: string[] = [];
    const template = line.replace(WORD, (word) => {
      if (!DIGIT.test(word)) return word;
      if (PLAIN_NUMBER.test(word)) {
        numbers.push(Number(word));
        return NUMBER;
      }
      texts.push(word);
      return TEXT;
    });
    let id = templates.get(template);
    if (id === undefined) {
      id = templates.size;
      templates.set(template, id);
      numberColumns.push([]);
      textColumns.push([]);
    }
    ids.push(id + 1);
    numbers.forEach((n, slot) => (numberColumns[id]![slot] ??= []).push(n));
    texts.forEach((t, slot) => (textColumns[id]![slot] ??= []).push(t));
  }
  const numberStream = new Varints();
  for (const columns of numberColumns)
    for (const column of columns) {
      let previous = 0;
      for (const n of column) {
        const delta = n - previous;
        numberStream.push(delta >= 0 ? delta * 2 : -delta * 2 - 1);
        previous = n;
      }
    }
  const textStream = textColumns.flatMap((columns) => columns.map((column) => column.join('\n'))).join('\n');
  return {
    dictionary: Buffer.from([...templates.keys()].join('\n'), 'latin1'),
    ids: ids.buffer(),
    numbers: numberStream.buffer(),
    texts: Buffer.from(textStream, 'latin1'),
    whole: Buffer.from(whole.map((line) => `${line}\n`).join(''), 'latin1'),
  };
}

/**
 * The streams back to the text, written for speed: the output allocated at its known size (a
 * store keeps the text's length), template pieces copied as bytes, numbers written digit by
 * digit, the other variables copied from their stream by offsets (a first version that joined
 * strings per line decoded at a third of the speed). What JavaScript can do without native code.
 */
function decodeColumns(s: Streams, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const dict = s.dictionary;
  // Each template: its pieces as byte ranges of the dictionary, and the kind of slot after each.
  const starts: number[] = [];
  const ends: number[] = [];
  const kinds: number[] = [];
  const templateFirst: number[] = [];
  const templatePieces: number[] = [];
  let at = 0;
  let pieceStart = 0;
  templateFirst.push(0);
  for (; at <= dict.length; at++) {
    const byte = at < dict.length ? dict[at]! : 10;
    if (byte === 1 || byte === 2 || byte === 10) {
      starts.push(pieceStart);
      ends.push(at);
      kinds.push(byte === 10 ? 0 : byte);
      pieceStart = at + 1;
      if (byte === 10) {
        templatePieces.push(starts.length - templateFirst[templateFirst.length - 1]!);
        templateFirst.push(starts.length);
      }
    }
  }
  const templates = dict.length === 0 ? 0 : templatePieces.length;
  const ids = s.ids;
  const lineIds: number[] = [];
  const uses = new Int32Array(templates);
  for (let i = 0, value = 0, scale = 1; i < ids.length; i++) {
    const byte = ids[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      lineIds.push(value);
      if (value > 0) uses[value - 1]!++;
      value = 0;
      scale = 1;
    } else scale *= 0x80;
  }
  // Where each template's columns start in the numbers (as values) and in the texts (as words).
  const numberSlots = new Int32Array(templates);
  const textSlots = new Int32Array(templates);
  for (let t = 0; t < templates; t++)
    for (let p = templateFirst[t]!; p < templateFirst[t]! + templatePieces[t]!; p++) {
      if (kinds[p] === 1) numberSlots[t]!++;
      else if (kinds[p] === 2) textSlots[t]!++;
    }
  const numberBase = new Int32Array(templates);
  const textBase = new Int32Array(templates);
  let numberCount = 0;
  let textCount = 0;
  for (let t = 0; t < templates; t++) {
    numberBase[t] = numberCount;
    textBase[t] = textCount;
    numberCount += numberSlots[t]! * uses[t]!;
    textCount += textSlots[t]! * uses[t]!;
  }
  // The numbers, undone from their deltas column by column.
  const numbers = new Float64Array(numberCount);
  {
    let n = 0;
    let value = 0;
    let scale = 1;
    const bytes = s.numbers;
    let t = 0;
    let columnLeft = 0;
    let previous = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      value += (byte & 0x7f) * scale;
      if (byte >= 0x80) {
        scale *= 0x80;
        continue;
      }
      while (columnLeft === 0) {
        // The next column: each template's number slots hold uses[t] values each.
        while (t < templates && n >= numberBase[t]! + numberSlots[t]! * uses[t]!) t++;
        columnLeft = uses[t]!;
        previous = 0;
      }
      previous += value % 2 === 0 ? value / 2 : -(value + 1) / 2;
      numbers[n++] = previous;
      columnLeft--;
      value = 0;
      scale = 1;
    }
  }
  const texts = s.texts;
  const textStarts = new Int32Array(textCount + 1);
  for (let w = 0, from = 0; w < textCount; w++) {
    textStarts[w] = from;
    const end = texts.indexOf(10, from);
    from = end < 0 ? texts.length + 1 : end + 1;
  }
  textStarts[textCount] = texts.length + 1;
  const seen = new Int32Array(templates);
  const whole = s.whole;
  let wholeAt = 0;
  let o = 0;
  for (const id of lineIds) {
    if (id === 0) {
      const end = whole.indexOf(10, wholeAt) + 1;
      o += whole.copy(out, o, wholeAt, end);
      wholeAt = end;
      continue;
    }
    const t = id - 1;
    const row = seen[t]!++;
    let n = 0;
    let x = 0;
    const first = templateFirst[t]!;
    const last = first + templatePieces[t]!;
    for (let p = first; p < last; p++) {
      for (let i = starts[p]!; i < ends[p]!; i++) out[o++] = dict[i]!;
      const kind = kinds[p];
      if (kind === 1) {
        let value = numbers[numberBase[t]! + n * uses[t]! + row]!;
        n++;
        if (value === 0) out[o++] = 48;
        else {
          const from = o;
          while (value > 0) {
            out[o++] = 48 + (value % 10);
            value = Math.floor(value / 10);
          }
          for (let a = from, b = o - 1; a < b; a++, b--) {
            const swap = out[a]!;
            out[a] = out[b]!;
            out[b] = swap;
          }
        }
      } else if (kind === 2) {
        const w = textBase[t]! + x * uses[t]! + row;
        x++;
        for (let i = textStarts[w]!, end = textStarts[w + 1]! - 1; i < end; i++) out[o++] = texts[i]!;
      }
    }
    out[o++] = 10;
  }
  return out.subarray(0, o);
}

const total = inputs.reduce((sum, input) => sum + input.length, 0);
console.log(`${inputs.length} runs of about ${RUN / 1024} KiB (${(total / 1e6).toFixed(1)} MB), the bench's web-1 files (${Number(values.lines).toLocaleString('en-US')} lines generated)\n`);
console.log('| codec | of the raw text | encodes (MB/CPU-s) | decodes (MB/CPU-s) |');
console.log('|---|---|---|---|');
const rounds = 2;
const rate = (seconds: number): string => ((total * rounds) / seconds / 1e6).toFixed(0);
for (const level of [3, 9, 19]) {
  let packed: Buffer[] = [];
  const encode = cpuSecondsOf(() => {
    for (let r = 0; r < rounds; r++) packed = inputs.map((input) => pack(input, level));
  });
  const decode = cpuSecondsOf(() => {
    for (let r = 0; r < rounds; r++) packed.forEach((p, i) => unpack(p, inputs[i]!.length));
  });
  const size = packed.reduce((sum, p) => sum + p.length, 0);
  console.log(`| zstd level ${level}, the text | ${(size / total).toFixed(4)} | ${rate(encode)} | ${rate(decode)} |`);
}
const names = ['dictionary', 'ids', 'numbers', 'texts', 'whole'] as const;
for (const level of [3, 9, 19]) {
  let packed: { streams: Record<string, Buffer>; sizes: Record<string, number> }[] = [];
  const encode = cpuSecondsOf(() => {
    for (let r = 0; r < rounds; r++)
      packed = inputs.map((input) => {
        const streams = encodeColumns(input);
        const out: Record<string, Buffer> = {};
        const sizes: Record<string, number> = {};
        for (const name of names) {
          out[name] = pack(streams[name], level);
          sizes[name] = streams[name].length;
        }
        return { streams: out, sizes };
      });
  });
  const unpackAll = (p: (typeof packed)[number]): Streams => Object.fromEntries(names.map((name) => [name, unpack(p.streams[name]!, p.sizes[name]!)])) as unknown as Streams;
  packed.forEach((p, i) => {
    if (!decodeColumns(unpackAll(p), inputs[i]!.length).equals(inputs[i]!)) throw new Error(`the columns of run ${i} do not decode to its text`);
  });
  const decode = cpuSecondsOf(() => {
    for (let r = 0; r < rounds; r++) packed.forEach((p, i) => decodeColumns(unpackAll(p), inputs[i]!.length));
  });
  const bytesOf = (name: string): number => packed.reduce((sum, p) => sum + p.streams[name]!.length, 0);
  const size = names.reduce((sum, name) => sum + bytesOf(name), 0);
  console.log(`| columns, zstd level ${level} each | ${(size / total).toFixed(4)} (${names.map((name) => `${name} ${(bytesOf(name) / total).toFixed(4)}`).join(', ')}) | ${rate(encode)} | ${rate(decode)} |`);
}
