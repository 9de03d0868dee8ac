/**
 * Store benchmark, through the Store API only:
 *   node --import tsx bench/store-bench.ts [--lines 1000000] [--batch 1000] [--store sqlite|memory] [--direct-seal-kb 128] [--seal-kb 1024]
 * Lines are real-format lines from /work/shared/data/loghub (one source per file, two files
 * per host), numbers varied by a seeded PRNG, with a few planted rare needles. Prints a table,
 * then one JSON line with every figure.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { AppendLine, Store } from '../src/storage/store.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    store: { type: 'string', default: 'sqlite' },
    'direct-seal-kb': { type: 'string' },
    'seal-kb': { type: 'string' },
    loghub: { type: 'string', default: '/work/shared/data/loghub' },
  },
});
const TOTAL = Number(values.lines);
const BATCH = Number(values.batch);

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(42);

const sources = readdirSync(values.loghub, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => {
    const file = readdirSync(join(values.loghub, d.name)).find((f) => f.endsWith('.log'));
    const lines = file ? readFileSync(join(values.loghub, d.name, file), 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.slice(0, 240)) : [];
    return { name: d.name.toLowerCase(), lines };
  })
  .filter((s) => s.lines.length > 0);

const files = sources.map((source, i) => ({ source, host: `host-${Math.floor(i / 2)}`, fileId: `inode-${i}`, filename: `${source.name}.log`, offset: 0 }));
const needles = Array.from({ length: 8 }, (_, i) => `needle-${(0x9e3779b1 * (i + 1)).toString(16).slice(0, 8)}q${i}`);
const needleAt = new Map(needles.map((needle, i) => [Math.floor(((i + 0.5) / needles.length) * TOTAL), needle]));

function varyDigits(line: string): string {
  return line.replace(/\d/g, () => String(Math.floor(random() * 10)));
}

async function openStore(dataDir: string): Promise<Store> {
  if (values.store === 'memory') return new MemoryStore();
  const policy = {
    ...(values['direct-seal-kb'] ? { directSealBytes: Number(values['direct-seal-kb']) * 1024 } : {}),
    ...(values['seal-kb'] ? { sealBytes: Number(values['seal-kb']) * 1024 } : {}),
  };
  return SqliteStore.open({ dataDir, policy });
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function timeIt(reps: number, run: (rep: number) => Promise<unknown>): Promise<{ p50: number; p90: number }> {
  const samples: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const started = performance.now();
    await run(rep);
    samples.push(performance.now() - started);
  }
  return { p50: percentile(samples, 0.5), p90: percentile(samples, 0.9) };
}

const work = mkdtempSync(join(tmpdir(), 'store-bench-'));
const rawFile = join(work, 'raw.log');
const rawFd = openSync(rawFile, 'w');
const store = await openStore(work);
const T0 = 1_700_000_000_000_000_000n;
let appendMs = 0;
let rawBytes = 0;
let generated = 0;
for (let batch = 0; generated < TOTAL; batch++) {
  const file = files[batch % files.length]!;
  const count = Math.min(BATCH, TOTAL - generated);
  const lines: AppendLine[] = [];
  let text = '';
  for (let i = 0; i < count; i++) {
    const template = file.source.lines[Math.floor(random() * file.source.lines.length)]!;
    const needle = needleAt.get(generated + i);
    const line = varyDigits(template) + (needle === undefined ? '' : ` ${needle}`);
    const bytes = Buffer.byteLength(line);
    lines.push({ offset: file.offset, end: file.offset + bytes + 1, timestamp: T0 + BigInt(generated + i) * 1_000_000n, line, cut: false });
    file.offset += bytes + 1;
    rawBytes += bytes;
    text += line + '\n';
  }
  writeSync(rawFd, text);
  const started = performance.now();
  await store.append({ host: file.host, files: [{ fileId: file.fileId, filename: file.filename, path: `/var/log/${file.filename}`, lines }], receivedAt: T0 + BigInt(batch) });
  appendMs += performance.now() - started;
  generated += count;
  if (process.env.BENCH_PROGRESS && generated % 50_000 === 0) console.error(`${generated} lines, ${Math.round(generated / (appendMs / 1000))} lines/s so far`);
}
closeSync(rawFd);

const ingestLinesPerSecond = Math.round(TOTAL / (appendMs / 1000));
const substring = (text: string, caseInsensitive = false) => [{ kind: 'substring' as const, text, caseInsensitive }];
const rare = await timeIt(24, async (rep) => {
  const page = await store.search({ order: 'desc', limit: 100, match: substring(needles[rep % needles.length]!) });
  if (page.lines.length !== 1) throw new Error(`needle found ${page.lines.length} times`);
});
const rareInsensitive = await timeIt(16, (rep) => store.search({ order: 'desc', limit: 100, match: substring(needles[rep % needles.length]!.toUpperCase(), true) }));
const common = await timeIt(20, async () => {
  const page = await store.search({ order: 'desc', limit: 100, match: substring('INFO') });
  if (page.lines.length !== 100) throw new Error('common term short of 100');
});
const firstPage = await store.search({ order: 'desc', limit: 100 });
const nextPage = await timeIt(20, () => store.search({ order: 'desc', limit: 100, cursor: firstPage.nextCursor! }));
const regexRare = await timeIt(6, () => store.search({ order: 'desc', limit: 100, match: [{ kind: 'regex', pattern: 'needle-[0-9a-f]{8}q3', caseInsensitive: false }] }));
const grep = await timeIt(5, (rep) => {
  execFileSync('grep', ['-F', '-c', needles[rep % needles.length]!, rawFile]);
  return Promise.resolve();
});
const stats = await store.stats();
await store.close();
if (process.env.KEEP_BENCH_DIR) console.log("kept", work); else rmSync(work, { recursive: true, force: true });

const figures = {
  store: values.store,
  lines: TOTAL,
  batch: BATCH,
  rawBytes,
  ingestLinesPerSecond,
  rareNeedleP50Ms: rare.p50,
  rareNeedleP90Ms: rare.p90,
  rareNeedleCaseInsensitiveP50Ms: rareInsensitive.p50,
  grepRareNeedleP50Ms: grep.p50,
  commonTermCount100P50Ms: common.p50,
  nextPage100P50Ms: nextPage.p50,
  regexRareP50Ms: regexRare.p50,
  storedBytes: stats.storedBytes,
  storageRatio: Number((stats.storedBytes / rawBytes).toFixed(3)),
  segments: stats.segments,
};
const rows: [string, string, string][] = [
  ['ingest (1,000-line appends)', `${ingestLinesPerSecond.toLocaleString('en')} lines/s`, '>= 150,000'],
  ['rare needle p50 / p90', `${rare.p50.toFixed(1)} / ${rare.p90.toFixed(1)} ms`, '<= 20 ms'],
  ['rare needle, case-insensitive p50', `${rareInsensitive.p50.toFixed(1)} ms`, ''],
  ['grep -F same bytes p50', `${grep.p50.toFixed(1)} ms`, '(reference)'],
  ['common term, count=100 p50', `${common.p50.toFixed(1)} ms`, ''],
  ['next page of 100 p50', `${nextPage.p50.toFixed(1)} ms`, ''],
  ['regex rare p50', `${regexRare.p50.toFixed(1)} ms`, ''],
  ['storage ratio', `${figures.storageRatio} (${stats.segments} segments)`, '<= 0.5'],
];
for (const [name, value, target] of rows) console.log(`${name.padEnd(36)} ${value.padEnd(28)} ${target}`);
console.log(JSON.stringify(figures));
