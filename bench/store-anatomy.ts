/**
 * Where a SQLite store's bytes go: each table's pages and their unused bytes (SQLite's dbstat),
 * the segments' compressed text and their blooms beside the raw bytes they hold, the blooms'
 * sizes and fill, and, on a sample of segments, what a bloom holds: distinct trigrams (lowercased,
 * and exact where that differs) and long tokens (src/segment/bloom.ts), and the share of the
 * bloom's probes the tokens take. Read-only; run it on a stopped Daniel's data (or a copy).
 *
 *   node --import tsx bench/store-anatomy.ts <data dir or daniel.db> [--every 40]
 *
 * `--every N` samples one segment in N for the bloom's contents (decoding each).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { payloadText } from '../src/segment/codec.js';
import { decompressPayload } from '../src/segment/compression.js';
import { bloomArrays, isTimeToken, isTokenByte, TOKEN_MIN } from '../src/segment/bloom.js';

const target = process.argv[2];
if (target === undefined) {
  console.error('usage: node --import tsx bench/store-anatomy.ts <data dir or daniel.db> [--every 40]');
  process.exit(2);
}
const file = existsSync(target) && statSync(target).isDirectory() ? path.join(target, 'daniel.db') : target;
const everyAt = process.argv.indexOf('--every');
const every = everyAt > 0 ? Number(process.argv[everyAt + 1]) : 40;
const db = new Database(file, { readonly: true, fileMustExist: true });

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const fileBytes = statSync(file).size;
const totals = db.prepare('SELECT count(*) AS segments, coalesce(sum(raw_bytes), 0) AS raw, coalesce(sum(line_count), 0) AS lines FROM segments').get() as { segments: number; raw: number; lines: number };
const ofRaw = (bytes: number): string => (totals.raw > 0 ? (bytes / totals.raw).toFixed(3) : '-');
console.log(`${file}: ${mb(fileBytes)} for ${mb(totals.raw)} raw in ${totals.lines} lines, ${totals.segments} segments (${ofRaw(fileBytes)} of raw)`);

console.log('\npages by table (dbstat): pages, bytes, unused bytes in them');
const tables = db.prepare("SELECT name, count(*) AS pages, sum(pgsize) AS bytes, sum(unused) AS unused FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; pages: number; bytes: number; unused: number }[];
for (const t of tables) console.log(`  ${t.name.padEnd(28)} ${String(t.pages).padStart(8)}  ${mb(t.bytes).padStart(10)}  ${mb(t.unused).padStart(10)} unused  (${ofRaw(t.bytes)} of raw)`);

const blobs = db.prepare('SELECT coalesce(sum(length(data)), 0) AS data, coalesce(sum(length(bloom)), 0) AS bloom FROM segment_blobs').get() as { data: number; bloom: number };
console.log(`\nsegment text, compressed: ${mb(blobs.data)} (${ofRaw(blobs.data)} of raw); blooms: ${mb(blobs.bloom)} (${ofRaw(blobs.bloom)} of raw)`);
/** Blobs by codec (segment/compression.ts: 1 deflate, 2 Zstandard, 3 Zstandard over variable columns; brotli has no header). */
const codecs = db
  .prepare("SELECT CASE WHEN substr(data, 1, 1) = x'ff' THEN 'codec ' || unicode(substr(data, 2, 1)) ELSE 'brotli' END AS codec, count(*) AS n, sum(length(data)) AS bytes FROM segment_blobs GROUP BY codec")
  .all() as { codec: string; n: number; bytes: number }[];
console.log(`segment text by codec: ${codecs.map((c) => `${c.codec}: ${c.n} segments, ${mb(c.bytes)}`).join('; ')}`);

/** Set bits of each byte value. */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, byte) => byte.toString(2).replaceAll('0', '').length);
const fill = (bytes: Uint8Array): number => bytes.reduce((sum, byte) => sum + BITS_SET[byte]!, 0);
const sizes = new Map<string, number>();
const byFormat = new Map<number, { n: number; trigramBytes: number; tokenBytes: number; trigramSet: number; tokenSet: number }>();
for (const row of db.prepare('SELECT bloom FROM segment_blobs').iterate() as Iterable<{ bloom: Buffer }>) {
  // Bytes that are no bloom of ours: counted whole, as format 0.
  const { format, trigrams, tokens } = bloomArrays(row.bloom) ?? { format: 0, trigrams: row.bloom, tokens: row.bloom.subarray(0, 0) };
  // Format 5's sizes vary byte by byte: counted by the power of two they reach.
  const size = format === 5 ? `<=${2 ** Math.ceil(Math.log2(Math.max(1, row.bloom.length)))}` : String(row.bloom.length - 1);
  sizes.set(size, (sizes.get(size) ?? 0) + 1);
  const stats = byFormat.get(format) ?? { n: 0, trigramBytes: 0, tokenBytes: 0, trigramSet: 0, tokenSet: 0 };
  stats.n++;
  stats.trigramBytes += trigrams.length;
  stats.tokenBytes += tokens.length;
  stats.trigramSet += fill(trigrams);
  stats.tokenSet += fill(tokens);
  byFormat.set(format, stats);
}
console.log(`bloom sizes (bytes: segments): ${[...sizes].sort((a, b) => Number(a[0].replace('<=', '')) - Number(b[0].replace('<=', ''))).map(([bytes, n]) => `${bytes}: ${n}`).join(', ')}`);
for (const [format, stats] of [...byFormat].sort((a, b) => a[0] - b[0])) {
  const share = (set: number, bytes: number): string => (bytes > 0 ? (set / (bytes * 8)).toFixed(3) : '-');
  console.log(
    format === 5
      ? `bloom format 5: ${stats.n} segments; trigram arrays ${mb(stats.trigramBytes)} (fill ${share(stats.trigramSet, stats.trigramBytes)}), token arrays ${mb(stats.tokenBytes)} (fill ${share(stats.tokenSet, stats.tokenBytes)})`
      : `bloom format ${format}: ${stats.n} segments, ${mb(stats.trigramBytes)}, fill ${share(stats.trigramSet, stats.trigramBytes)} of the bits set`,
  );
}

const lower = (b: number): number => (b >= 65 && b <= 90 ? b | 32 : b);
const sample = db.prepare('SELECT b.bloom AS bloom, b.data AS data, s.line_count AS lines FROM segment_blobs b JOIN segments s USING (id) WHERE b.id % ? = 0').all(every) as { bloom: Buffer; data: Buffer; lines: number }[];
let trigrams = 0;
let tokens = 0;
let tokenRepeats = 0;
let timeTokens = 0;
let bits = 0;
let lines = 0;
for (const row of sample) {
  const { text } = payloadText(decompressPayload(row.data));
  const seen = new Set<number>();
  const words = new Set<string>();
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const byte = i < text.length ? text[i]! : 0x20;
    if (i >= 2 && i < text.length) {
      seen.add((lower(text[i - 2]!) << 16) | (lower(text[i - 1]!) << 8) | lower(byte));
      seen.add((text[i - 2]! << 16) | (text[i - 1]! << 8) | byte);
    }
    if (isTokenByte(byte)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= TOKEN_MIN) {
        tokenRepeats++;
        const word = text.toString('latin1', start, i);
        if (isTimeToken(text, start, i) && !words.has(word)) timeTokens++;
        words.add(word);
      }
      start = -1;
    }
  }
  trigrams += seen.size;
  tokens += words.size;
  bits += row.bloom.length * 8;
  lines += row.lines;
}
if (sample.length > 0) {
  const perSegment = (n: number): string => (n / sample.length).toFixed(0);
  console.log(`\n${sample.length} segments sampled (one in ${every}), ${(lines / sample.length).toFixed(0)} lines each:`);
  console.log(
    `  distinct trigrams ${perSegment(trigrams)} a segment; tokens of ${TOKEN_MIN}+ bytes ${perSegment(tokenRepeats)} (${perSegment(tokens)} distinct, ${(tokens / lines).toFixed(2)} a line; ${perSegment(timeTokens)} of them begin with a date or a time)`,
  );
  console.log(`  bloom bits per distinct key ${(bits / (trigrams + tokens)).toFixed(1)}; the tokens' share of the probes set (8 a token, 3 a trigram) ${((tokens * 8) / (tokens * 8 + trigrams * 3)).toFixed(2)}`);
}
db.close();
