/**
 * Store benchmark, through the Store API only:
 *   node --enable-experimental-regexp-engine --import tsx bench/store-bench.ts [--lines 1000000] [--batch 1000] [--store sqlite|memory]
 *     [--direct-seal-kb 128] [--seal-kb 1024] [--seed 20261124] [--keep-db DIR] [--reuse-db DIR] [--reps 1]
 * The data is the end-to-end harness's (bench/lib/datagen.ts: loghub-format lines, ~150 bytes,
 * two hosts x eight files, planted needles), generated once under bench/.work/ and reused.
 * Appends are 1,000-line runs of one file, round robin over the files (as agents ship them).
 * `--keep-db DIR` leaves the store in DIR; `--reuse-db DIR` skips ingest and queries that store
 * (for profiling queries without re-ingesting 10M lines). Prints a table, then one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { COMMON_TERM, COUNTED_TERM, generateData } from './lib/datagen.js';
import { appendOf } from './lib/store-feed.js';
import { loghubDir, workDir } from './lib/paths.js';
import { assertLinearRegex } from '../src/query/matcher.js';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Matcher, Store } from '../src/storage/store.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    store: { type: 'string', default: 'sqlite' },
    seed: { type: 'string', default: '20261124' },
    'direct-seal-kb': { type: 'string' },
    'seal-kb': { type: 'string' },
    'keep-db': { type: 'string' },
    'reuse-db': { type: 'string' },
    reps: { type: 'string', default: '1' },
  },
});
const TOTAL = Number(values.lines);
const BATCH = Number(values.batch);
const REPS = Number(values.reps);

const data = generateData(loghubDir(), { seed: Number(values.seed), totalLines: TOTAL, hosts: ['web-1', 'db-1'], baseDir: workDir, log: (m) => console.error(m) });
const allPaths = data.files.map((f) => f.path);

/** Lines of one file, read in 1 MiB chunks. */
class LineReader {
  private readonly fd: number;
  private readonly chunk = Buffer.allocUnsafe(1 << 20);
  private pending: string[] = [];
  private rest = '';
  private done = false;
  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }
  take(count: number): string[] {
    while (this.pending.length < count && !this.done) {
      const read = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      if (read === 0) {
        this.done = true;
        closeSync(this.fd);
        if (this.rest.length > 0) this.pending.push(this.rest);
        break;
      }
      const parts = (this.rest + this.chunk.toString('utf8', 0, read)).split('\n');
      this.rest = parts.pop()!;
      for (const part of parts) this.pending.push(part);
    }
    return this.pending.splice(0, count);
  }
}

async function openStore(dataDir: string): Promise<Store> {
  if (values.store === 'memory') return new MemoryStore();
  const policy = {
    ...(values['direct-seal-kb'] ? { directSealBytes: Number(values['direct-seal-kb']) * 1024 } : {}),
    ...(values['seal-kb'] ? { sealBytes: Number(values['seal-kb']) * 1024 } : {}),
  };
  return SqliteStore.open({ dataDir, policy });
}

/** Appends every generated line; returns lines/s over the time spent inside append(). */
async function ingest(store: Store): Promise<number> {
  const feeds = data.files.map((file) => ({ file, reader: new LineReader(file.path), index: 0, offset: 0 }));
  let appendMs = 0;
  let appended = 0;
  for (let round = 0; feeds.some((f) => f.index < f.file.lines); round++) {
    for (const feed of feeds) {
      const texts = feed.reader.take(BATCH);
      if (texts.length === 0) continue;
      const request = appendOf(feed, texts, round);
      const started = performance.now();
      await store.append(request);
      appendMs += performance.now() - started;
      appended += texts.length;
      if (process.env.BENCH_PROGRESS && round % 20 === 0 && feed === feeds[0]) console.error(`${appended} lines, ${Math.round(appended / (appendMs / 1000))} lines/s so far`);
    }
  }
  return Math.round(appended / (appendMs / 1000));
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function timeIt(reps: number, run: (rep: number) => unknown): Promise<{ p50: number; p90: number }> {
  const samples: number[] = [];
  for (let rep = 0; rep < reps * REPS; rep++) {
    const started = performance.now();
    await run(rep);
    samples.push(performance.now() - started);
  }
  return { p50: percentile(samples, 0.5), p90: percentile(samples, 0.9) };
}

/** grep's total over the files, checked against the generator's truth. */
function grepCount(args: string[], needle: string): number {
  let out = '';
  try {
    out = execFileSync('grep', [...args, needle, ...allPaths], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch (error) {
    out = (error as { stdout?: string }).stdout ?? ''; // exit 1: no match
  }
  return out.split('\n').filter(Boolean).reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(':') + 1)), 0);
}

const reuse = values['reuse-db'];
assertLinearRegex();
const dataDir = reuse ?? values['keep-db'] ?? mkdtempSync(join(workDir, 'store-bench-'));
mkdirSync(dataDir, { recursive: true });
if (reuse === undefined && existsSync(join(dataDir, 'daniel.db'))) throw new Error(`${dataDir} already holds a store: pass --reuse-db to query it`);
let store = await openStore(dataDir);
const ingestLinesPerSecond = reuse === undefined ? await ingest(store) : null;
if (reuse === undefined && values.store === 'sqlite') {
  await store.close(); // queries start from a store opened afresh, as after a restart
  store = await openStore(dataDir);
}

const substring = (text: string, caseInsensitive = false): Matcher[] => [{ kind: 'substring', text, caseInsensitive }];
const cross = data.crossNeedles;
const hostNeedles = data.hostNeedles;
/** The first query after opening reads every segment's metadata and bloom from SQLite (then cached). */
const coldStarted = performance.now();
await store.search({ order: 'desc', limit: 100, match: substring(cross[cross.length - 1]!.token) });
const rareColdMs = performance.now() - coldStarted;
const rare = await timeIt(24, async (rep) => {
  const page = await store.search({ order: 'desc', limit: 100, match: substring(cross[rep % cross.length]!.token) });
  if (page.lines.length !== 1) throw new Error(`needle found ${page.lines.length} times`);
});
const rareHost = await timeIt(24, async (rep) => {
  const needle = hostNeedles[rep % hostNeedles.length]!;
  const page = await store.search({ order: 'desc', limit: 100, hosts: [needle.host], match: substring(needle.token) });
  if (page.lines.length !== 1) throw new Error(`host needle found ${page.lines.length} times`);
});
const rareInsensitive = await timeIt(16, (rep) => store.search({ order: 'desc', limit: 100, match: substring(cross[rep % cross.length]!.token.toUpperCase(), true) }));
const grepRare = await timeIt(3, (rep) => grepCount(['-F', '-c'], cross[rep % cross.length]!.token));
const common = await timeIt(20, async () => {
  const page = await store.search({ order: 'desc', limit: 100, match: substring(COMMON_TERM) });
  if (page.lines.length !== 100) throw new Error('common term short of 100');
});
/** Follows `next` page after page; each timed page is one follow. */
async function pagingTimes(match: Matcher[] | undefined): Promise<{ p50: number; p90: number }> {
  let cursor = (await store.search({ order: 'desc', limit: 100, ...(match ? { match } : {}) })).nextCursor;
  return timeIt(20, async () => {
    const page = await store.search({ order: 'desc', limit: 100, ...(match ? { match } : {}), cursor: cursor! });
    if (page.lines.length !== 100) throw new Error('page short of 100');
    cursor = page.nextCursor;
  });
}
const nextPage = await pagingTimes(undefined);
const nextPageCommon = await pagingTimes(substring(COMMON_TERM));
const regexRare = await timeIt(6, () => store.search({ order: 'desc', limit: 100, match: [{ kind: 'regex', pattern: 'qzx-cross-3-[0-9a-f]{10}', caseInsensitive: false }] }));

/** Counting every match as GET /logs/histogram does: one bucket (366 days) spanning all the data. */
const ONE_BUCKET_MS = 366 * 86_400_000;
async function countAll(term: string): Promise<{ p50: number; p90: number; count: number }> {
  let count = 0;
  const times = await timeIt(3, async () => {
    const result = await store.histogram({ bucketMs: ONE_BUCKET_MS, match: substring(term) });
    count = result.buckets.reduce((sum, b) => sum + b.count, 0);
  });
  if (count !== data.termCounts[term]!.total) throw new Error(`counted ${count} lines with ${term}, expected ${data.termCounts[term]!.total}`);
  return { ...times, count };
}
const countCounted = await countAll(COUNTED_TERM);
const countCommon = await countAll(COMMON_TERM);
grepCount(['-F', '-c'], COUNTED_TERM); // warm the page cache
const grepCounted = await timeIt(3, () => grepCount(['-F', '-c'], COUNTED_TERM));
const grepCommon = await timeIt(3, () => grepCount(['-F', '-c'], COMMON_TERM));
const rssAfterQueriesMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
const stats = await store.stats();
await store.close();
if (reuse === undefined && values['keep-db'] === undefined) rmSync(dataDir, { recursive: true, force: true });

const ms = (t: { p50: number }): number => Number(t.p50.toFixed(2));
const figures = {
  store: values.store,
  lines: data.totalLines,
  batch: BATCH,
  rawBytes: data.rawBytes,
  meanLineBytes: Number(data.meanLineBytes.toFixed(1)),
  ingestLinesPerSecond,
  rareNeedleCrossHostP50Ms: ms(rare),
  rareNeedleCrossHostP90Ms: Number(rare.p90.toFixed(2)),
  rareNeedleColdMs: Number(rareColdMs.toFixed(1)),
  rareNeedleHostP50Ms: ms(rareHost),
  rareNeedleCaseInsensitiveP50Ms: ms(rareInsensitive),
  grepRareNeedleP50Ms: ms(grepRare),
  rareSpeedupOverGrep: Number((grepRare.p50 / rare.p50).toFixed(1)),
  commonTermCount100P50Ms: ms(common),
  nextPage100P50Ms: ms(nextPage),
  nextPageCommonTermP50Ms: ms(nextPageCommon),
  regexRareP50Ms: ms(regexRare),
  countCountedTerm: { term: COUNTED_TERM, lines: countCounted.count, p50Ms: ms(countCounted), grepP50Ms: ms(grepCounted) },
  countCommonTerm: { term: COMMON_TERM, lines: countCommon.count, p50Ms: ms(countCommon), grepP50Ms: ms(grepCommon) },
  storedBytes: stats.storedBytes,
  storageRatio: Number((stats.storedBytes / data.rawBytes).toFixed(3)),
  segments: stats.segments,
  maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  rssAfterQueriesMiB,
};
const rows: [string, string, string][] = [
  ['ingest (1,000-line appends)', ingestLinesPerSecond === null ? '(reused store)' : `${ingestLinesPerSecond.toLocaleString('en')} lines/s`, '>= 150,000'],
  ['rare needle, all hosts p50 / p90', `${rare.p50.toFixed(1)} / ${rare.p90.toFixed(1)} ms`, '<= 20 ms'],
  ['rare needle, first after open', `${rareColdMs.toFixed(1)} ms`, ''],
  ['rare needle, one host p50', `${rareHost.p50.toFixed(1)} ms`, '<= 20 ms'],
  ['rare needle, case-insensitive p50', `${rareInsensitive.p50.toFixed(1)} ms`, ''],
  ['grep -F same bytes p50', `${grepRare.p50.toFixed(1)} ms (${figures.rareSpeedupOverGrep}x)`, '>= 20x'],
  ['common term, count=100 p50', `${common.p50.toFixed(1)} ms`, '<= 50 ms'],
  ['next page of 100 (no filter) p50', `${nextPage.p50.toFixed(1)} ms`, '<= 30 ms'],
  ['next page of 100 (common term) p50', `${nextPageCommon.p50.toFixed(1)} ms`, '<= 30 ms'],
  ['regex rare p50', `${regexRare.p50.toFixed(1)} ms`, ''],
  [`count every "${COUNTED_TERM}" p50`, `${countCounted.p50.toFixed(0)} ms (grep -c ${grepCounted.p50.toFixed(0)} ms)`, '<= grep'],
  [`count every "${COMMON_TERM}" p50`, `${countCommon.p50.toFixed(0)} ms (grep -c ${grepCommon.p50.toFixed(0)} ms)`, '<= grep'],
  ['storage ratio', `${figures.storageRatio} (${stats.segments} segments)`, '<= 0.35'],
  ['RSS after the queries / max (bench included)', `${rssAfterQueriesMiB} / ${figures.maxRssMiB} MiB`, ''],
];
for (const [name, value, target] of rows) console.log(`${name.padEnd(38)} ${value.padEnd(34)} ${target}`);
console.log(JSON.stringify(figures));
