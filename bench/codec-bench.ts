/**
 * The codecs Daniel and Henrik can compress with, side by side on the bench's own data, one
 * process, same run: MB of input per CPU-second to compress and to decompress, and the
 * compressed size over the input. Two inputs:
 *   - segments: 640 KiB runs of each generated file (about a sealed segment's text), as the
 *     segment codec (src/segment/compression.ts) compresses them;
 *   - bodies: ~1 MiB ingest requests built from the same lines (Henrik's JSON wire format),
 *     as Henrik's batches (src/agent/wire-body.ts) are.
 *
 *   node --import tsx bench/codec-bench.ts [--lines N]
 *
 * The data is the harness's generated set (bench/lib/datagen.ts, 1M lines by default, made
 * at run time and reused). Every result is decompressed and compared with its input once.
 */
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { zstd } from '../src/common/zstd.js';
import { generateData } from './lib/datagen.js';
import { loghubDir, workDir } from './lib/paths.js';
import { linePieces } from './lib/pieces.js';
import { cpuSecondsOf } from './lib/stats.js';


const linesArg = process.argv.indexOf('--lines');
const totalLines = linesArg > 0 ? Number(process.argv[linesArg + 1]) : 1_000_000;
const data = generateData(loghubDir(), { seed: 20261124, totalLines, hosts: ['web-1', 'db-1'], baseDir: workDir, log: (m) => console.error(m) });
const files = data.files.filter((f) => f.host === 'web-1');

const segments = files.flatMap((f) => linePieces(f.path, 6, 640 * 1024));
const bodies = files.flatMap((f) =>
  linePieces(f.path, 4, 700 * 1024).map((text, i) => {
    let offset = i * 1_000_000;
    const lines = text.toString('utf8').split('\n').slice(0, -1).map((line, j) => ({ offset: (offset += Buffer.byteLength(line) + 1), timestamp: String(1_700_000_000_000_000_000n + BigInt(j) * 1_234_567n), line }));
    return Buffer.from(JSON.stringify({ host: 'web-1', files: [{ file_id: 'x', filename: path.basename(f.path), path: f.path, lines }] }));
  }),
);

type Codec = [name: string, compress: (input: Buffer) => Buffer, decompress: (packed: Buffer, size: number) => Buffer];

const cctx = new zstd.CCtx();
const dctx = new zstd.DCtx();
const zstdCodec = (level: number): Codec => [
  `zstd level ${level}`,
  (input) => {
    const out = Buffer.allocUnsafe(zstd.compressBound(input.length));
    return out.subarray(0, cctx.compress(out, input, level));
  },
  (packed, size) => {
    const out = Buffer.allocUnsafe(size);
    return out.subarray(0, dctx.decompress(out, packed));
  },
];
const deflate = (level: number): Codec => [`deflate level ${level}`, (input) => deflateRawSync(input, { level, memLevel: 9 }), (packed, size) => inflateRawSync(packed, { chunkSize: Math.max(64, size + 1) })];
const brotli = (quality: number, window: number): Codec => [
  `brotli quality ${quality}, window ${window}`,
  (input) => brotliCompressSync(input, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_LGWIN]: window, [constants.BROTLI_PARAM_SIZE_HINT]: input.length } }),
  (packed) => brotliDecompressSync(packed),
];
const gzip1: Codec = ['gzip level 1', (input) => gzipSync(input, { level: 1, memLevel: 9, windowBits: 14 }), (packed) => gunzipSync(packed)];

function measure(title: string, inputs: Buffer[], codecs: Codec[]): void {
  const total = inputs.reduce((sum, input) => sum + input.length, 0);
  console.log(`\n${title}: ${inputs.length} inputs, ${(total / 1e6).toFixed(1)} MB\n`);
  console.log('| codec | of the input | compresses (MB/CPU-s) | decompresses (MB/CPU-s) |');
  console.log('|---|---|---|---|');
  for (const [name, compress, decompress] of codecs) {
    let packed: Buffer[] = [];
    const rounds = 3;
    const compressSeconds = cpuSecondsOf(() => {
      for (let r = 0; r < rounds; r++) packed = inputs.map(compress);
    });
    packed.forEach((p, i) => {
      if (!decompress(p, inputs[i]!.length).equals(inputs[i]!)) throw new Error(`${name} did not give back its input`);
    });
    const decompressSeconds = cpuSecondsOf(() => {
      for (let r = 0; r < rounds; r++) packed.forEach((p, i) => decompress(p, inputs[i]!.length));
    });
    const size = packed.reduce((sum, p) => sum + p.length, 0);
    const rate = (seconds: number) => ((total * rounds) / seconds / 1e6).toFixed(0);
    console.log(`| ${name} | ${(size / total).toFixed(3)} | ${rate(compressSeconds)} | ${rate(decompressSeconds)} |`);
  }
}

measure('Segments (640 KiB of text)', segments, [zstdCodec(1), zstdCodec(2), zstdCodec(3), zstdCodec(-1), deflate(1), deflate(6), brotli(1, 22)]);
measure('Ingest bodies (~1 MiB of JSON)', bodies, [zstdCodec(1), zstdCodec(-1), zstdCodec(2), brotli(1, 18), gzip1]);
