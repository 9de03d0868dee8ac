/**
 * Counting every match, focused: the store's histogram count (one bucket over all the data, as
 * GET /logs/histogram?bucket=366d sums it) and counting by paging search (count=10000, as
 * GET /logs then each next), beside `grep -F -c` over the same generated files, back to back.
 *   node --import tsx bench/count-bench.ts [--lines 1000000] [--keep-db DIR | --reuse-db DIR]
 *     [--reps 5] [--terms ERROR,INFO] [--paging] [--only-histogram] [--workers 0,1] [--min] [--http]
 * Ingest is like bench/store-bench.ts's (1,000-line appends, round robin over the files; each
 * file is read whole, ~2.5 GB of heap at 10M lines). `--workers 0,1` opens one store per count
 * of count workers and runs them in turn rep by rep (with grep), so load from others on the
 * machine hits each alike; `--min` reports the fastest run instead of the median. `--http`
 * also times GET /logs/histogram and the paging through the REST API (the app in this process,
 * fetch as the client). Prints one row per figure, then one JSON line. Run with
 * `node --cpu-prof` to profile the counting.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateData } from './lib/datagen.js';
import { appendOf } from './lib/store-feed.js';
import { loghubDir, workDir } from './lib/paths.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import type { Matcher, Store } from '../src/storage/store.js';
import { buildApp } from '../src/server/app.js';
import { createTokenSet } from '../src/server/tokens.js';
import type { HistogramResponse, LogsResponse } from '../src/protocol/api.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '20261124' },
    'keep-db': { type: 'string' },
    'reuse-db': { type: 'string' },
    reps: { type: 'string', default: '5' },
    terms: { type: 'string', default: 'ERROR' },
    paging: { type: 'boolean', default: false },
    /** Also through the REST API: the app in this process on a loopback port, fetch as the client (its JSON parsing counts too). */
    http: { type: 'boolean', default: false },
    'only-histogram': { type: 'boolean', default: false },
    workers: { type: 'string' },
    /** Report the fastest run instead of the median (on a machine others are loading). */
    min: { type: 'boolean', default: false },
  },
});
const REPS = Number(values.reps);
const data = generateData(loghubDir(), { seed: Number(values.seed), totalLines: Number(values.lines), hosts: ['web-1', 'db-1'], baseDir: workDir, log: (m) => console.error(m) });
const allPaths = data.files.map((f) => f.path);

function readLines(path: string): string[] {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 24);
  let text = '';
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    text += chunk.toString('utf8', 0, read);
  }
  closeSync(fd);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function ingest(store: Store): Promise<void> {
  const feeds = data.files.map((file) => ({ file, lines: readLines(file.path), index: 0, offset: 0 }));
  for (let round = 0; feeds.some((f) => f.index < f.lines.length); round++) {
    for (const feed of feeds) {
      const texts = feed.lines.slice(feed.index, feed.index + 1000);
      if (texts.length === 0) continue;
      await store.append(appendOf(feed, texts, round));
    }
  }
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeIt(run: () => unknown): Promise<number> {
  await run(); // warm
  const samples: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function grepCount(term: string): number {
  const out = execFileSync('grep', ['-F', '-c', '--', term, ...allPaths], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return out.split('\n').filter(Boolean).reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(':') + 1)), 0);
}

const reuse = values['reuse-db'];
const dataDir = reuse ?? values['keep-db'] ?? mkdtempSync(join(workDir, 'count-bench-'));
mkdirSync(dataDir, { recursive: true });
if (reuse === undefined && existsSync(join(dataDir, 'daniel.db'))) throw new Error(`${dataDir} already holds a store: pass --reuse-db`);
let store: Store = await SqliteStore.open({ dataDir, countPool: { workers: 0 } });
if (reuse === undefined) {
  const started = performance.now();
  await ingest(store);
  console.error(`ingested ${data.totalLines} lines in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
await store.close();
/** One store per worker count compared (`--workers 0,1`), queried in turn, so load on the machine hits each alike. */
const workerCounts = (values.workers ?? '0,1').split(',').map(Number);
const stores = await Promise.all(workerCounts.map((workers) => SqliteStore.open({ dataDir, countPool: { workers } })));
store = stores[0]!;

/** Medians of each variant, run in turn rep by rep after one warm-up each. */
async function timeInTurn(variants: (() => unknown)[]): Promise<number[]> {
  for (const run of variants) await run();
  const samples = variants.map((): number[] => []);
  for (let rep = 0; rep < REPS; rep++) {
    for (let v = 0; v < variants.length; v++) {
      const started = performance.now();
      await variants[v]!();
      samples[v]!.push(performance.now() - started);
    }
  }
  if (values.min) return samples.map((list) => Math.min(...list));
  return samples.map(median);
}

const ONE_BUCKET_MS = 366 * 86_400_000;
const substring = (text: string): Matcher[] => [{ kind: 'substring', text, caseInsensitive: false }];
const figures: Record<string, unknown> = { lines: data.totalLines, rawBytes: data.rawBytes };
for (const term of (values.terms ?? 'ERROR').split(',')) {
  const truth = data.termCounts[term]?.total;
  const countWith = (target: Store) => async (): Promise<void> => {
    const result = await target.histogram({ bucketMs: ONE_BUCKET_MS, match: substring(term) });
    const counted = result.buckets.reduce((sum, b) => sum + b.count, 0);
    if (truth !== undefined && counted !== truth) throw new Error(`histogram counted ${counted} ${term}, the data has ${truth}`);
  };
  const grepRun = values['only-histogram'] ? [] : [() => grepCount(term)];
  const times = await timeInTurn([...grepRun, ...stores.map(countWith)]);
  const grepMs = values['only-histogram'] ? NaN : times.shift()!;
  figures[`grep_${term}_ms`] = Number(grepMs.toFixed(1));
  console.log(`${term}: grep -F -c ${grepMs.toFixed(1)} ms, ${truth ?? '?'} lines`);
  times.forEach((ms, i) => {
    console.log(`${term}: histogram, ${workerCounts[i]} count workers: ${ms.toFixed(1)} ms (${(ms / grepMs).toFixed(2)}x grep)`);
    figures[`histogram_${term}_w${workerCounts[i]}_ms`] = Number(ms.toFixed(1));
  });
  if (values.paging) {
    let paged = 0;
    let pages = 0;
    const pagingMs = await timeIt(async () => {
      paged = 0;
      pages = 0;
      let cursor: string | undefined;
      do {
        const page = await store.search({ order: 'desc', limit: 10_000, match: substring(term), ...(cursor === undefined ? {} : { cursor }) });
        paged += page.lines.length;
        pages++;
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    });
    if (truth !== undefined && paged !== truth) throw new Error(`paging counted ${paged} ${term}, the data has ${truth}`);
    console.log(`${term}: paging count=10000 ${pagingMs.toFixed(1)} ms over ${pages} pages (${(pagingMs / grepMs).toFixed(2)}x grep)`);
    figures[`paging_${term}_ms`] = Number(pagingMs.toFixed(1));
  }
}
if (values.http) {
  const token = 'count-bench-token';
  const app = await buildApp({ store: stores[stores.length - 1]!, tokens: createTokenSet([{ scope: 'read', token }]) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const get = async <T>(url: string): Promise<T> => {
    const response = await fetch(url.startsWith('http') ? url : base + url, { headers: { authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  for (const term of (values.terms ?? 'ERROR').split(',')) {
    const truth = data.termCounts[term]?.total;
    let histogramTotal = 0;
    let pagedTotal = 0;
    let pages = 0;
    const [histogramMs, pagingMs] = await timeInTurn([
      async () => {
        const body = await get<HistogramResponse>(`/logs/histogram?filter=${term}&bucket=1d`);
        histogramTotal = body.data.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
      },
      ...(values.paging
        ? [
            async () => {
              pagedTotal = 0;
              pages = 0;
              for (let url: string | undefined = `/logs?filter=${term}&count=10000`; url !== undefined; pages++) {
                const body: LogsResponse = await get<LogsResponse>(url);
                pagedTotal += body.data.length;
                url = body.next;
              }
            },
          ]
        : []),
    ]);
    if (truth !== undefined && histogramTotal !== truth) throw new Error(`REST histogram counted ${histogramTotal} ${term}, the data has ${truth}`);
    if (values.paging && truth !== undefined && pagedTotal !== truth) throw new Error(`REST paging counted ${pagedTotal} ${term}, the data has ${truth}`);
    const grepMs = figures[`grep_${term}_ms`] as number;
    console.log(`${term}: REST histogram ${histogramMs!.toFixed(1)} ms (${(histogramMs! / grepMs).toFixed(2)}x grep)`);
    figures[`rest_histogram_${term}_ms`] = Number(histogramMs!.toFixed(1));
    if (pagingMs !== undefined) {
      console.log(`${term}: REST paging count=10000 ${pagingMs.toFixed(1)} ms over ${pages} pages (${(pagingMs / grepMs).toFixed(2)}x grep)`);
      figures[`rest_paging_${term}_ms`] = Number(pagingMs.toFixed(1));
    }
  }
  await app.close();
}
for (const open of stores) await open.close();
if (reuse === undefined && values['keep-db'] === undefined) rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify(figures));
