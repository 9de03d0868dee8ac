/**
 * Workload 3, queries on the ingested lines through the REST API, p50 and p99 over repeated
 * runs (after one untimed warm-up), each answer checked against what the generator planted,
 * beside grep -F and rg -F (and tail) over the same bytes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFields } from '../../src/query/fields.js';
import { FIELD_STATS_VERSION } from '../../src/query/field-stats.js';
import type { HistogramResponse, LogsResponse } from '../../src/protocol/api.js';
import { getJson, getMetrics, type AnswerSize } from '../lib/api.js';
import { describe, grep, rg, ripgrep, sumCounts, tailLines, timeBaseline, type ShellBaseline } from '../lib/baselines.js';
import type { BenchContext } from '../lib/context.js';
import { COMMON_TERM, COUNTED_TERM } from '../lib/datagen.js';
import { ratio, WorkloadReport, type Baseline, type WorkloadResult } from '../lib/results.js';
import { percentile } from '../lib/stats.js';
import { startProcess, type Proc } from '../lib/proc.js';

interface QuerySpec {
  name: string;
  /** A note to add once the query has been timed (what the last run measured beside its time). */
  after?: () => string | undefined;
  /** Human form of the request, for the commands list. */
  request: string;
  repeats: number;
  /**
   * Runs repetition i; returns a description of a wrong answer, if any, and the time that
   * counts when only part of the run is the timed request.
   */
  run: (i: number) => Promise<string | undefined | { problem?: string; timedMs: number }>;
  baselines: ShellBaseline[];
  /** Target text and the check on (p50, p50 of the first grep baseline, p50 of the first rg baseline). */
  target?: { text: string; pass: (p50: number, grepP50: number | undefined, rgP50: number | undefined) => boolean | undefined };
  /** Check a baseline's output (e.g. grep -c's sum) against the generator's truth. */
  checkBaseline?: (stdout: string) => string | undefined;
}

const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();

function expectOne(body: LogsResponse, token: string, host: string): string | undefined {
  const hits = body.data.filter((entry) => entry.logline.includes(token));
  if (body.data.length !== 1 || hits.length !== 1) return `expected exactly 1 line with ${token}, got ${body.data.length} (${hits.length} with it)`;
  if (hits[0]!.host !== host) return `needle ${token} came back from host ${hits[0]!.host}, planted on ${host}`;
  return undefined;
}

function specs(ctx: BenchContext): QuerySpec[] {
  const { data, config } = ctx;
  const host = data.hosts[0]!;
  const hostFiles = data.files.filter((f) => f.host === host).map((f) => f.path);
  const allFiles = data.files.map((f) => f.path);
  const fileFilter = data.files.find((f) => f.host === host && f.filename === 'hdfs.log')!;
  const rgPath = ripgrep(ctx.log).path;
  const withRg = (flags: string[], pattern: string, files: string[]): ShellBaseline[] => (rgPath ? [rg(rgPath, flags, pattern, files)] : []);
  const counted = data.termCounts[COUNTED_TERM]!.total;
  let nextUrl: string | undefined;
  let pagingWeight: { pages: number; bytes: number; parseMs: number; stringifyMs: number; lines: number } | undefined;
  /** The untimed first run: no segment of it yet cut down to its matches in Daniel's memory (segment-filter.ts). */
  let pagingFirstMs: number | undefined;
  /** The same pages walked from a static server: p50 (ms) of its walks, or why it was not measured. */
  let pagingFloor: { p50: number; runs: number } | string | undefined;
  let lastCursors = new Set<string>();

  return [
    {
      name: `rare needle, one host (${data.hostNeedles.length} needles in turn)`,
      request: `GET /hosts/${host}/logs?filter=<needle>`,
      repeats: config.queryRepeats,
      run: async (i) => {
        const needle = data.hostNeedles[i % data.hostNeedles.length]!;
        return expectOne(await getJson<LogsResponse>(ctx, `/hosts/${host}/logs?${q({ filter: needle.token })}`), needle.token, host);
      },
      baselines: [grep(['-F'], data.hostNeedles[0]!.token, hostFiles), ...withRg(['-F'], data.hostNeedles[0]!.token, hostFiles)],
      target: { text: '<= 20 ms p50 and >= 20x faster than grep', pass: (p50, grepP50) => p50 <= 20 && (grepP50 === undefined ? undefined : grepP50 / p50 >= 20) },
    },
    {
      name: `common term "${COMMON_TERM}", count=100`,
      request: `GET /hosts/${host}/logs?filter=${COMMON_TERM}&count=100`,
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<LogsResponse>(ctx, `/hosts/${host}/logs?${q({ filter: COMMON_TERM, count: '100' })}`);
        const bad = body.data.filter((entry) => !entry.logline.includes(COMMON_TERM)).length;
        return body.data.length !== 100 || bad > 0 ? `expected 100 lines with ${COMMON_TERM}, got ${body.data.length} (${bad} without it)` : undefined;
      },
      baselines: [grep(['-F', '-m', '100'], COMMON_TERM, hostFiles), ...withRg(['-F', '-m', '100'], COMMON_TERM, hostFiles)],
      target: { text: '<= 50 ms p50', pass: (p50) => p50 <= 50 },
    },
    {
      name: `every match of "${COUNTED_TERM}", counted by paging (count=10000)`,
      request: `GET /logs?filter=${COUNTED_TERM}&count=10000, then each next`,
      repeats: config.slowRepeats,
      run: async (i) => {
        const runStarted = performance.now();
        let total = 0;
        let pages = 0;
        // Only the untimed first run keeps what it read (for the floors below): a timed run, as a
        // client counting lines would, drops each page once counted.
        const first = i === 0;
        const size: AnswerSize = first ? { bytes: 0, parseMs: 0, texts: [] } : { bytes: 0, parseMs: 0 };
        const start = `/logs?${q({ filter: COUNTED_TERM, count: '10000' })}`;
        let url: string | undefined = start;
        const entries: LogsResponse['data'][] = [];
        while (url) {
          const body: LogsResponse = await getJson<LogsResponse>(ctx, url, undefined, size);
          total += body.data.length;
          pages++;
          if (first) entries.push(body.data);
          url = body.next;
        }
        const walkMs = performance.now() - runStarted;
        const problem = total !== counted ? `counted ${total} lines with ${COUNTED_TERM}, the data has ${counted}` : undefined;
        if (first) {
          pagingFirstMs = walkMs;
          // The floor of writing these answers: JSON.stringify of the same entries, untimed.
          const started = performance.now();
          for (const data of entries) JSON.stringify({ data });
          pagingWeight = { pages, bytes: size.bytes, parseMs: size.parseMs, stringifyMs: performance.now() - started, lines: total };
          // The floor of serving them: the same bytes from a server that only writes them.
          pagingFloor = await staticPagingWalk(start, size.texts!, counted, ctx.config.slowRepeats).catch((error: unknown) => (error as Error).message);
        } else if (pagingWeight !== undefined) {
          pagingWeight.parseMs = size.parseMs;
        }
        return { problem, timedMs: walkMs };
      },
      after: () =>
        pagingWeight &&
        `every match of "${COUNTED_TERM}", counted by paging: each run reads ${pagingWeight.pages} pages, ${(pagingWeight.bytes / 1e6).toFixed(1)} MB of JSON (${Math.round(pagingWeight.bytes / pagingWeight.lines)} bytes an entry, its per-line cursor and fields included); the harness's JSON.parse of them takes ${Math.round(pagingWeight.parseMs)} ms of the last timed run, and JSON.stringify of the same entries ${Math.round(pagingWeight.stringifyMs)} ms (untimed): the floor of writing them, against grep -c that writes one number a file. ${typeof pagingFloor === 'string' ? `The same pages from a static server: not measured (${pagingFloor})` : `The same pages from a static server (bench/lib/static-pages.ts, its own process, answering each request with Daniel's bytes for it) through the same client: ${pagingFloor === undefined ? '?' : pagingFloor.p50.toFixed(0)} ms p50 of ${pagingFloor?.runs ?? 0} walks, the floor of fetching and parsing this JSON here`}. The untimed first run took ${Math.round(pagingFirstMs ?? 0)} ms: Daniel then cut each segment it read down to the lines with ${COUNTED_TERM} and kept those in memory (its decoded cache, 32 MiB), where the timed runs find most of them`,
      baselines: [grep(['-F', '-c'], COUNTED_TERM, allFiles), ...withRg(['-F', '-c'], COUNTED_TERM, allFiles)],
      // Issue 17's target for counting by paging: within 2x of grep -c (the JSON of 100k entries is the floor, see the note).
      target: { text: '<= 2x grep -c', pass: (p50, grepP50) => (grepP50 === undefined ? undefined : p50 <= 2 * grepP50) },
      checkBaseline: (stdout) => (sumCounts(stdout) !== counted ? `baseline counted ${sumCounts(stdout)}, expected ${counted}` : undefined),
    },
    {
      name: `every match of "${COUNTED_TERM}", counted by /logs/histogram`,
      request: `GET /logs/histogram?filter=${COUNTED_TERM}&bucket=1d (sum of the buckets)`,
      repeats: config.slowRepeats,
      run: async () => {
        const body = await getJson<HistogramResponse>(ctx, `/logs/histogram?${q({ filter: COUNTED_TERM, bucket: '1d' })}`);
        const total = body.data.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
        return total !== counted || body.partial ? `histogram counted ${total}${body.partial ? ' (partial)' : ''}, the data has ${counted}` : undefined;
      },
      baselines: [grep(['-F', '-c'], COUNTED_TERM, allFiles), ...withRg(['-F', '-c'], COUNTED_TERM, allFiles)],
      // Issue 17's target for a count of a whole word: no slower than rg -c, and 50 ms from the per-segment term counts.
      target: { text: 'no slower than rg -c and <= 50 ms p50', pass: (p50, _grepP50, rgP50) => (rgP50 === undefined ? undefined : p50 <= rgP50 && p50 <= 50) },
    },
    {
      name: 'newest 100 of a host',
      request: `GET /hosts/${host}/logs?count=100`,
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<LogsResponse>(ctx, `/hosts/${host}/logs?count=100`);
        return body.data.length !== 100 ? `expected 100 lines, got ${body.data.length}` : undefined;
      },
      baselines: [tailLines(100, hostFiles)],
    },
    {
      name: 'file filter: newest 100 of one file',
      request: `GET /hosts/${host}/logs?file=${fileFilter.filename}&count=100`,
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<LogsResponse>(ctx, `/hosts/${host}/logs?${q({ file: fileFilter.filename, count: '100' })}`);
        const other = body.data.filter((entry) => entry.filename !== fileFilter.filename).length;
        return body.data.length !== 100 || other > 0 ? `expected 100 lines of ${fileFilter.filename}, got ${body.data.length} (${other} of other files)` : undefined;
      },
      baselines: [tailLines(100, [fileFilter.path])],
    },
    {
      name: `rare needle, all hosts via /logs (${data.crossNeedles.length} needles in turn)`,
      request: 'GET /logs?filter=<needle>',
      repeats: config.queryRepeats,
      run: async (i) => {
        const needle = data.crossNeedles[i % data.crossNeedles.length]!;
        return expectOne(await getJson<LogsResponse>(ctx, `/logs?${q({ filter: needle.token })}`), needle.token, needle.host);
      },
      baselines: [grep(['-F'], data.crossNeedles[0]!.token, allFiles), ...withRg(['-F'], data.crossNeedles[0]!.token, allFiles)],
      target: { text: '<= 20 ms p50', pass: (p50) => p50 <= 20 },
    },
    ...fieldSpecs(ctx, withRg, allFiles),
    {
      name: 'a page of 100 through next',
      request: 'GET /logs?count=100, then GET <next> in turn (timed)',
      repeats: config.queryRepeats,
      run: async () => {
        if (!nextUrl) {
          const first = await getJson<LogsResponse>(ctx, '/logs?count=100');
          lastCursors = new Set(first.data.map((entry) => entry.cursor));
          nextUrl = first.next;
          if (!nextUrl) return 'the first page of 100 carried no next';
        }
        const started = performance.now();
        const body = await getJson<LogsResponse>(ctx, nextUrl);
        const timedMs = performance.now() - started;
        const repeated = body.data.filter((entry) => lastCursors.has(entry.cursor)).length;
        lastCursors = new Set(body.data.map((entry) => entry.cursor));
        nextUrl = body.next;
        const problem = body.data.length !== 100 || repeated > 0 ? `page of ${body.data.length} lines, ${repeated} repeated from the page before` : undefined;
        return { problem, timedMs };
      },
      baselines: [],
      target: { text: '<= 30 ms p50', pass: (p50) => p50 <= 30 },
    },
  ];
}

interface FieldsAnswer {
  data: { name: string; lines: number }[];
  lines_examined: number;
  partial?: boolean;
}
interface ValuesAnswer extends Omit<FieldsAnswer, 'data'> {
  data: { value: string; lines: number }[];
  other_lines: number;
}

/** The field queries of the query language, on the JSON and logfmt third of the data, checked against the generator. */
function fieldSpecs(ctx: BenchContext, withRg: (flags: string[], pattern: string, files: string[]) => ShellBaseline[], allFiles: string[]): QuerySpec[] {
  const { data, config } = ctx;
  const traces = data.fieldTruth.traceIds;
  if (traces.length === 0) return [];
  const fieldsOf = (entry: LogsResponse['data'][number]): Record<string, string> => (entry as { fields?: Record<string, string> }).fields ?? {};
  const wantPage = (expected: number): number => Math.min(100, expected);
  return [
    {
      name: `rare field value, all hosts: trace_id (${traces.length} ids in turn)`,
      request: 'GET /logs?q=trace_id:<id>',
      repeats: config.queryRepeats,
      run: async (i) => {
        const { traceId, host } = traces[i % traces.length]!;
        const body = await getJson<LogsResponse>(ctx, `/logs?${q({ q: `trace_id:${traceId}` })}`);
        if (body.data.length !== 1 || fieldsOf(body.data[0]!).trace_id !== traceId) return `expected the 1 line of trace ${traceId}, got ${body.data.length}`;
        return body.data[0]!.host !== host ? `trace ${traceId} came back from ${body.data[0]!.host}, written on ${host}` : undefined;
      },
      baselines: [grep(['-F'], traces[0]!.traceId, allFiles), ...withRg(['-F'], traces[0]!.traceId, allFiles)],
      target: { text: '<= 20 ms p50', pass: (p50) => p50 <= 20 },
    },
    {
      name: 'level:error service:api -healthz, count=100',
      request: 'GET /logs?q=level:error service:api -healthz&count=100',
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<LogsResponse>(ctx, `/logs?${q({ q: 'level:error service:api -healthz', count: '100' })}`);
        const wrong = body.data.filter((e) => fieldsOf(e).level !== 'error' || fieldsOf(e).service !== 'api' || e.logline.toLowerCase().includes('healthz')).length;
        const expected = wantPage(data.fieldTruth.errorsFromApiNotHealthz);
        return body.data.length !== expected || wrong > 0 ? `expected ${expected} matching lines, got ${body.data.length} (${wrong} not matching)` : undefined;
      },
      baselines: [],
      target: { text: '<= 50 ms p50', pass: (p50) => p50 <= 50 },
    },
    {
      name: 'status:>=500, count=100',
      request: 'GET /logs?q=status:>=500&count=100',
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<LogsResponse>(ctx, `/logs?${q({ q: 'status:>=500', count: '100' })}`);
        const wrong = body.data.filter((e) => !(Number(fieldsOf(e).status) >= 500)).length;
        const expected = wantPage(data.fieldTruth.status5xx);
        return body.data.length !== expected || wrong > 0 ? `expected ${expected} lines with status >= 500, got ${body.data.length} (${wrong} below)` : undefined;
      },
      baselines: [],
      target: { text: '<= 50 ms p50', pass: (p50) => p50 <= 50 },
    },
    {
      name: 'top 10 values of level over all lines',
      request: 'GET /logs/fields/level/values?limit=10',
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<ValuesAnswer>(ctx, `/logs/fields/level/values?${q({ limit: '10' })}`);
        const truth = levelTruth(ctx);
        const wanted = [...truth.levels].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
        const got = body.data.map((d) => `${d.value}=${d.lines}`).join(' ');
        if (body.partial || body.lines_examined !== data.totalLines) return `examined ${body.lines_examined} of ${data.totalLines} lines${body.partial ? ' (partial)' : ''}`;
        return got !== wanted.map(([value, lines]) => `${value}=${lines}`).join(' ') ? `values ${got}, the data has ${wanted.map(([v, n]) => `${v}=${n}`).join(' ')}` : undefined;
      },
      baselines: [],
      target: { text: '<= 300 ms p50', pass: (p50) => p50 <= 300 },
    },
    {
      name: 'every line of level:error, counted by /logs/histogram',
      request: 'GET /logs/histogram?q=level:error&bucket=1d (sum of the buckets)',
      repeats: config.queryRepeats,
      run: async () => {
        const body = await getJson<HistogramResponse>(ctx, `/logs/histogram?${q({ q: 'level:error', bucket: '1d' })}`);
        const total = body.data.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
        const errors = levelTruth(ctx).levels.get('error') ?? 0;
        return total !== errors || body.partial ? `histogram counted ${total}${body.partial ? ' (partial)' : ''}, the data has ${errors}` : undefined;
      },
      baselines: [],
      target: { text: '<= 50 ms p50', pass: (p50) => p50 <= 50 },
    },
    {
      name: 'field names of the lines matching a selective query',
      request: 'GET /logs/fields?q=trace_id:<id>',
      repeats: config.queryRepeats,
      run: async (i) => {
        const { traceId } = traces[i % traces.length]!;
        const body = await getJson<FieldsAnswer>(ctx, `/logs/fields?${q({ q: `trace_id:${traceId}` })}`);
        return body.lines_examined !== 1 || !body.data.some((f) => f.name === 'trace_id') ? `expected the fields of 1 line, examined ${body.lines_examined}` : undefined;
      },
      baselines: [],
      target: { text: '<= 100 ms p50', pass: (p50) => p50 <= 100 },
    },
  ];
}

interface LevelTruth {
  /** Lines per extracted `level` over every generated line (absent: no level said). */
  levels: Map<string, number>;
}
let levelTruthCache: { dir: string; truth: LevelTruth } | undefined;

/**
 * The level of every generated line, by the same extraction Daniel reads fields with, counted
 * by a plain pass over the files (once per data set, kept beside its manifest): what the
 * all-lines answers are checked against.
 */
function levelTruth(ctx: BenchContext): LevelTruth {
  const { data } = ctx;
  if (levelTruthCache?.dir === data.dir) return levelTruthCache.truth;
  // Named by the statistics' version, which changes whenever the extraction's rules do: a count
  // kept from older rules is not the truth for this build.
  const file = path.join(data.dir, `levels-v${FIELD_STATS_VERSION}.json`);
  let levels: Map<string, number>;
  if (existsSync(file)) {
    levels = new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>));
  } else {
    levels = new Map();
    for (const generated of data.files) {
      const text = readFileSync(generated.path, 'utf8');
      for (let start = 0; start < text.length; ) {
        let end = text.indexOf('\n', start);
        if (end === -1) end = text.length;
        const level = extractFields(text.slice(start, end)).level;
        if (level !== undefined) levels.set(level, (levels.get(level) ?? 0) + 1);
        start = end + 1;
      }
    }
    writeFileSync(file, JSON.stringify(Object.fromEntries(levels)));
  }
  levelTruthCache = { dir: data.dir, truth: { levels } };
  return levelTruthCache.truth;
}

/** Segments Daniel's idle work has left: without field statistics, and sealed but not repacked, from /metrics (0 when not exported). */
async function idleWorkLeft(ctx: BenchContext): Promise<{ stats: number; repack: number }> {
  const series = await getMetrics(ctx);
  return { stats: series('daniel_store_segments_without_field_stats') ?? 0, repack: series('daniel_store_segments_to_repack') ?? 0 };
}

/**
 * Daniel computes segments' field statistics, and repacks sealed segments, while neither
 * appends nor reads run: waits until no segment is left without statistics or to repack and
 * the all-lines level answer covers every line (or 10 minutes), and says how long that took.
 * Both yield to reads, so polling does not hold them up for long; timing queries (and their
 * grep baselines) while they still had work would measure it too.
 */
async function waitForIdleWork(ctx: BenchContext, report: WorkloadReport, started: number): Promise<void> {
  for (;;) {
    const left = await idleWorkLeft(ctx);
    const body = await getJson<ValuesAnswer>(ctx, `/logs/fields/level/values?${q({ limit: '1' })}`);
    const waited = (performance.now() - started) / 1000;
    if (!body.partial && body.lines_examined === ctx.data.totalLines && left.stats === 0 && left.repack === 0) {
      report.note(
        `Field statistics covered all ${ctx.data.totalLines} lines, and every sealed segment was repacked, ${waited.toFixed(1)} s after the queries workload started, its plain pass over the files included (both are done while appends and reads pause).`,
      );
      return;
    }
    if (waited > 600) {
      report.note(`Daniel's idle work was not done within 600 s (the answer examined ${body.lines_examined} lines; ${left.stats} segments without statistics, ${left.repack} to repack).`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/**
 * Walks the pages a paging run read again, from a static server that answers each request with
 * the bytes Daniel gave for it, through the same client (fetch, the text, JSON.parse, the next
 * link): once untimed, then `runs` times. p50 in ms; throws when a walk counts other than `counted`.
 */
async function staticPagingWalk(start: string, texts: { url: string; text: string }[], counted: number, runs: number): Promise<{ p50: number; runs: number }> {
  const keyOf = (url: string): string => {
    if (!url.startsWith('http')) return url;
    const { pathname, search } = new URL(url);
    return pathname + search;
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-pages-'));
  const script = fileURLToPath(new URL('../lib/static-pages.ts', import.meta.url));
  let server: Proc | undefined;
  try {
    const manifest = texts.map(({ url, text }, i) => {
      const file = path.join(dir, `page-${i}.json`);
      writeFileSync(file, text);
      return { key: keyOf(url), file };
    });
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    server = startProcess('static-pages', process.execPath, ['--import', 'tsx', script, path.join(dir, 'manifest.json')], { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    const base = (await server.waitFor(/listening on (\S+)/, 30_000))[1]!;
    const walk = async (): Promise<number> => {
      const started = performance.now();
      let total = 0;
      for (let url: string | undefined = base + start; url !== undefined; ) {
        const response = await fetch(url);
        const text = await response.text();
        if (!response.ok) throw new Error(`static page ${url}: ${response.status}`);
        const body = JSON.parse(text) as LogsResponse;
        total += body.data.length;
        url = body.next === undefined ? undefined : base + keyOf(body.next);
      }
      if (total !== counted) throw new Error(`the static walk counted ${total}, the data has ${counted}`);
      return performance.now() - started;
    };
    await walk();
    const timings: number[] = [];
    for (let i = 0; i < runs; i++) timings.push(await walk());
    return { p50: percentile(timings, 0.5)!, runs };
  } finally {
    await server?.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeQuery(spec: QuerySpec): Promise<{ timings: number[]; wrong: string[] }> {
  const warm = await spec.run(0);
  const warmProblem = typeof warm === 'object' ? warm.problem : warm;
  if (warmProblem) throw new Error(`wrong answer: ${warmProblem}`);
  const timings: number[] = [];
  const wrong: string[] = [];
  for (let i = 0; i < spec.repeats; i++) {
    const started = performance.now();
    const outcome = await spec.run(i + 1);
    const elapsed = performance.now() - started;
    const problem = typeof outcome === 'object' ? outcome.problem : outcome;
    timings.push(typeof outcome === 'object' ? outcome.timedMs : elapsed);
    if (problem) wrong.push(problem);
  }
  return { timings, wrong };
}

async function measure(ctx: BenchContext, spec: QuerySpec, report: WorkloadReport): Promise<void> {
  report.command(spec.request);
  const allFiles = ctx.data.files.map((f) => f.path);
  let measured: { timings: number[]; wrong: string[] };
  try {
    measured = await timeQuery(spec);
  } catch (error) {
    report.add({ name: spec.name, unit: 'ms', notMeasured: (error as Error).message, target: spec.target && { text: spec.target.text, pass: undefined } });
    return;
  }
  const { timings, wrong } = measured;
  const p50 = percentile(timings, 0.5)!;
  const p99 = percentile(timings, 0.99)!;
  const baselines: Baseline[] = spec.baselines.map((shell) => {
    const timed = timeBaseline(shell, ctx.config.slowRepeats);
    const problem = spec.checkBaseline?.(timed.stdout);
    if (problem) report.note(`${spec.name}: ${shell.name}: ${problem}`);
    const command = describe(path.basename(shell.command), shell.args, allFiles);
    report.command(command);
    return { ...timed.baseline, ratio: ratio(timed.baseline.value, p50), command };
  });
  const afterNote = spec.after?.();
  if (afterNote !== undefined) report.note(afterNote);
  const grepP50 = baselines.find((b) => b.name.startsWith('grep'))?.value;
  const rgP50 = baselines.find((b) => b.name.startsWith('rg'))?.value;
  const targetPass = spec.target?.pass(p50, grepP50, rgP50);
  report.add({
    name: spec.name,
    value: p50,
    p99,
    unit: 'ms',
    baselines,
    target: spec.target && { text: spec.target.text, pass: wrong.length > 0 ? false : targetPass },
    note: wrong.length > 0 ? `WRONG ANSWERS in ${wrong.length} of ${spec.repeats} runs: ${wrong[0]}` : undefined,
  });
}

export async function queriesWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('queries', `Queries over the ${ctx.data.totalLines} ingested lines, through the REST API`);
  const all = specs(ctx);
  if (!ctx.daniel || ctx.danielMissing) {
    const why = `needs the ingested Daniel (see ingest): ${ctx.danielMissing ?? 'not started'}`;
    for (const spec of all) report.add({ name: spec.name, unit: 'ms', notMeasured: why, target: spec.target && { text: spec.target.text, pass: undefined } });
    return report.finish();
  }
  const { queryRepeats, slowRepeats } = ctx.config;
  report.note(
    `Each query once untimed, then timed ${queryRepeats} times (counting every match ${slowRepeats} times) with fetch from the harness (keep-alive); every answer is checked against the generated data. Baselines: p50 of ${slowRepeats} runs after one untimed, LC_ALL=C, page cache warm; rg uses both cores, and so does Daniel's histogram (count worker threads beside the main thread, src/query/count-pool.ts).`,
  );
  const started = performance.now();
  levelTruth(ctx); // before anything is timed: a plain pass over the generated files
  // Every query is timed once the statistics are complete and the segments repacked, none while that work runs.
  await waitForIdleWork(ctx, report, started);
  for (const spec of all) await measure(ctx, spec, report);
  return report.finish();
}
