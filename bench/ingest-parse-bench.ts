/**
 * The main thread's per-line work on an ingest body before the store: a binary batch (what
 * Henrik sends) read and checked (checkBinaryBatch), made an append request (toAppendRequest)
 * and its lines numbered (withSeqs), in ns a line. One process, the working tree's code; for
 * an A/B, run it on each build in turn, a few times each.
 *
 *   node --import tsx bench/ingest-parse-bench.ts [--lines 4000] [--rounds 30]
 *
 * The batch is built from the harness's generated hadoop lines (bench/lib/datagen.ts, 200k
 * lines, made at run time and reused). Prints the median and the fastest of the rounds, each
 * round 20 readings of the batch, for the check alone and for the three steps together.
 */
import { readFileSync } from 'node:fs';
import { BinaryBatchWriter, checkBinaryBatch } from '../src/protocol/binary-batch.js';
import { toAppendRequest } from '../src/server/ingest-validation.js';
import { withSeqs } from '../src/storage/append-plan.js';
import { generateData } from './lib/datagen.js';
import { loghubDir, workDir } from './lib/paths.js';
import { median } from './lib/stats.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}
const lineCount = flag('lines', 4000);
const rounds = flag('rounds', 30);
const READS = 20;

const data = generateData(loghubDir(), { seed: 20261124, totalLines: 200_000, hosts: ['web-1', 'db-1'], baseDir: workDir, log: (m) => console.error(m) });
const file = data.files.find((f) => f.host === 'web-1' && f.filename === 'hadoop.log') ?? data.files[0]!;
const lines = readFileSync(file.path, 'utf8').split('\n').slice(0, lineCount);

const writer = new BinaryBatchWriter(Buffer.alloc(1 << 20), Buffer.alloc(1 << 16), 'web-1');
writer.startGroup('bench-file', file.filename, file.path);
let offset = 0;
let timestamp = 1_767_657_599_558_000_000n;
for (const line of lines) {
  const bytes = Buffer.byteLength(line);
  writer.line(offset, offset + bytes + 1, timestamp, line, false);
  offset += bytes + 1;
  timestamp += 1_000_000n;
}
writer.endGroup(offset);
const body = writer.finish();

function nsPerLine(step: () => number): { median: number; min: number } {
  const perLine: number[] = [];
  let kept = 0;
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let k = 0; k < READS; k++) kept += step();
    perLine.push(Number(process.hrtime.bigint() - started) / (READS * lines.length));
  }
  if (kept !== rounds * READS * lines.length) throw new Error(`read ${kept} lines, expected ${rounds * READS * lines.length}`);
  return { median: median(perLine)!, min: Math.min(...perLine) };
}

const check = nsPerLine(() => checkBinaryBatch(body).groups[0]!.lines.length);
const all = nsPerLine(() => {
  const checked = checkBinaryBatch(body);
  const { request } = toAppendRequest({ host: checked.host, files: [], checked }, 1n);
  return withSeqs(request.files[0]!.lines, 0).length;
});
console.log(`${lines.length} lines (${body.length} bytes a batch), ${rounds} rounds of ${READS} readings:`);
console.log(`  checkBinaryBatch: ${check.median.toFixed(1)} ns a line (median), ${check.min.toFixed(1)} fastest`);
console.log(`  checkBinaryBatch + toAppendRequest + withSeqs: ${all.median.toFixed(1)} ns a line (median), ${all.min.toFixed(1)} fastest`);
