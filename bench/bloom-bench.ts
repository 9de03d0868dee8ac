/**
 * The segment bloom builders side by side: the C one (native/bloom.c, when npm install built
 * it) and the JavaScript one (src/segment/bloom.ts), on segment-sized texts of the bench's
 * generated data (8 formats, 512 KiB pieces from across each file), with tokens and field
 * names as Daniel builds them. Checks that both give the same bytes, then prints MB/s of
 * text for each, from this process's CPU time, three rounds.
 *
 *   node --import tsx bench/bloom-bench.ts [--lines 200000] [--pieces 8]
 *
 * The data is generated (or reused) as the harness does, under bench/.work/.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateData } from './lib/datagen.js';
import { loghubDir, workDir } from './lib/paths.js';
import { BLOOM_FORMAT, buildTrigramBloom, buildTrigramBloomJs, nativeBloomLoaded, type BloomFormat } from '../src/segment/bloom.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '200000' }, pieces: { type: 'string', default: '8' } } });
if (!nativeBloomLoaded()) {
  console.error('the C builder is not built (node scripts/build-native.mjs), or DANIEL_JS_BLOOM=1 is set: nothing to compare');
  process.exit(2);
}
const data = generateData(loghubDir(), { seed: 20261124, totalLines: Number(values.lines), hosts: ['web-1'], baseDir: workDir, log: (m) => console.error(m) });
const PIECE = 512 * 1024;
const texts: Buffer[] = [];
for (const file of data.files) {
  const size = statSync(file.path).size;
  const pieces = Math.max(1, Math.min(Number(values.pieces), Math.floor(size / PIECE)));
  const fd = openSync(file.path, 'r');
  for (let k = 0; k < pieces; k++) {
    const text = Buffer.alloc(Math.min(PIECE, size));
    readSync(fd, text, 0, text.length, Math.floor(((size - text.length) * k) / pieces));
    texts.push(text);
  }
  closeSync(fd);
}
for (const text of texts) {
  if (!buildTrigramBloom(text, BLOOM_FORMAT).equals(buildTrigramBloomJs(text, BLOOM_FORMAT))) throw new Error('the two builders gave different bytes');
}
const total = texts.reduce((sum, text) => sum + text.length, 0);
console.log(`${texts.length} texts, ${(total / 1e6).toFixed(1)} MB, the same bytes from both builders`);
const rate = (build: (text: Uint8Array, format: BloomFormat) => Buffer): number => {
  const before = process.cpuUsage();
  for (const text of texts) build(text, BLOOM_FORMAT);
  const used = process.cpuUsage(before);
  return total / (used.user + used.system); // bytes a µs: MB/s
};
for (let round = 1; round <= 3; round++) {
  console.log(`round ${round}: C ${rate(buildTrigramBloom).toFixed(0)} MB/s, JavaScript ${rate(buildTrigramBloomJs).toFixed(0)} MB/s`);
}
