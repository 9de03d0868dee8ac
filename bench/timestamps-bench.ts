/**
 * Lines per second of the timestamp finder, per format and on a mixed set, on ~150-byte
 * lines generated at run time (plus the loghub samples when ../shared/data/loghub exists).
 *
 *   node --import tsx bench/timestamps-bench.ts [--quick] [--source] [--baseline <rev>]
 *
 * Lines within a set advance a few ms each, like a real file; the mixed set interleaves
 * all formats line by line, the worst case for the finder's caches. Rates are per CPU
 * second of this process (process.cpuUsage), so other work on a shared machine skews
 * them less than wall-clock time would.
 *
 * By default the finder is first bundled to plain ESM with esbuild, as the agent runs it
 * from dist/; `--source` measures the .ts source through tsx's loader instead, whose
 * module interop makes cross-module calls slower (10-35% fewer lines/s).
 *
 * `--baseline <rev>` also measures the finder as it was at git revision <rev>: each round
 * runs this bench twice as child processes, one per finder (so neither shares the
 * other's JIT state), three rounds alternately, best of three per set. The ratio is what
 * to read on a shared machine, where absolute rates drift with the load.
 *
 * Each set is read as the agent reads a file: one parser and one FileLayout per file.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { createTimestampParser as CreateTimestampParser } from '../src/agent/timestamps.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));

interface FinderModule {
  createTimestampParser: typeof CreateTimestampParser;
  /** Absent in finders older than per-file layouts. */
  FileLayout?: new () => object;
}

async function bundle(source: string): Promise<FinderModule> {
  const dir = mkdtempSync(join(tmpdir(), 'timestamps-bench-'));
  try {
    const outfile = join(dir, 'timestamps.mjs');
    await build({ entryPoints: [source], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile, logLevel: 'warning' });
    return (await import(pathToFileURL(outfile).href)) as FinderModule;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadFinder(): Promise<FinderModule> {
  const source = join(here, '..', 'src', 'agent', 'timestamps.ts');
  if (process.argv.includes('--source')) return (await import(pathToFileURL(source).href)) as FinderModule;
  return bundle(source);
}

/** The finder as it was at git revision `rev`, bundled the same way. */
async function loadBaseline(rev: string): Promise<FinderModule> {
  const dir = mkdtempSync(join(tmpdir(), 'timestamps-baseline-'));
  try {
    const tar = execFileSync('git', ['archive', rev, 'src'], { cwd: join(here, '..'), maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    return await bundle(join(dir, 'src', 'agent', 'timestamps.ts'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const baselineAt = process.argv.indexOf('--baseline');
const baselineRev = baselineAt > 0 ? process.argv[baselineAt + 1] : undefined;
// Child mode: `--finder-rev <rev>` measures that revision's finder, `--json` prints rates for the parent.
const finderRevAt = process.argv.indexOf('--finder-rev');
const finderRev = finderRevAt > 0 ? process.argv[finderRevAt + 1] : undefined;
const json = process.argv.includes('--json');

if (baselineRev !== undefined) {
  compareWithBaseline(baselineRev);
  process.exit(0);
}

/** Runs the bench as children, alternately for `rev` and the working tree, and prints best-of-3 ratios. */
function compareWithBaseline(rev: string): void {
  const script = fileURLToPath(import.meta.url);
  const passOn = process.argv.slice(2).filter((a, i, all) => a !== '--baseline' && all[i - 1] !== '--baseline');
  const run = (extra: string[]): Map<string, number> => {
    const out = execFileSync(process.execPath, [...process.execArgv, script, ...passOn, '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const rates = new Map<string, number>();
    for (const line of out.split('\n')) {
      if (line.startsWith('{')) {
        const r = JSON.parse(line) as { name: string; linesPerSecond: number };
        rates.set(r.name, r.linesPerSecond);
      }
    }
    return rates;
  };
  const best = { base: new Map<string, number>(), head: new Map<string, number>() };
  for (let round = 0; round < 3; round++) {
    for (const [which, extra] of [['base', ['--finder-rev', rev]], ['head', []]] as const) {
      for (const [name, rate] of run([...extra])) best[which].set(name, Math.max(best[which].get(name) ?? 0, rate));
    }
  }
  console.log(`timestamp finder against ${rev}, best of 3 child runs each, ${quick ? 'quick, ' : ''}Node ${process.version}, M lines per CPU second`);
  const ratios: number[] = [];
  for (const [name, head] of best.head) {
    const base = best.base.get(name) ?? Number.NaN;
    ratios.push(head / base);
    console.log(`${name.padEnd(32)} ${(base / 1e6).toFixed(2).padStart(6)} -> ${(head / 1e6).toFixed(2).padStart(6)}  x${(head / base).toFixed(3)}`);
  }
  const geometricMean = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  console.log(`geometric mean of the ratios (working tree / ${rev}): x${geometricMean.toFixed(3)}`);
}

const finder = finderRev !== undefined ? await loadBaseline(finderRev) : await loadFinder();
const LINES_PER_SET = quick ? 20_000 : 100_000;
const MIN_SECONDS = quick ? 0.2 : 0.6;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const p2 = (n: number): string => String(n).padStart(2, '0');
const p3 = (n: number): string => String(n).padStart(3, '0');

/** Fields of an instant, read in UTC (the bench parser's zone is UTC for the naive formats' check). */
function parts(ms: number) {
  const d = new Date(ms);
  return {
    y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(), ms: d.getUTCMilliseconds(), wd: DAYS[d.getUTCDay()] as string, mon: MONTHS[d.getUTCMonth()] as string,
  };
}

const MESSAGE = 'INFO [pool-3-thread-7] org.example.ingest.BatchWriter: flushed 1284 records for tenant=acme-42 in 37 ms (queue=12, retries=0) ok';

const formats: Record<string, (ms: number) => string> = {
  'iso8601 Z': (t) => { const p = parts(t); return `${p.y}-${p2(p.mo)}-${p2(p.d)}T${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}.${p3(p.ms)}Z ${MESSAGE}`; },
  'iso8601 +hh:mm': (t) => { const p = parts(t); return `${p.y}-${p2(p.mo)}-${p2(p.d)}T${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}.${p3(p.ms)}123+00:00 ${MESSAGE}`; },
  'log4j naive': (t) => { const p = parts(t); return `${p.y}-${p2(p.mo)}-${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)},${p3(p.ms)} ${MESSAGE}`; },
  'syslog': (t) => { const p = parts(t); return `${p.mon} ${String(p.d).padStart(2, ' ')} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} web-01 app[2231]: ${MESSAGE}`; },
  'ctime (apache error)': (t) => { const p = parts(t); return `[${p.wd} ${p.mon} ${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} ${p.y}] [error] ${MESSAGE}`; },
  'apache access (CLF)': (t) => { const p = parts(t); return `10.251.73.220 - frank [${p2(p.d)}/${p.mon}/${p.y}:${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} +0000] "GET /api/v1/items?page=3 HTTP/1.1" 200 2326 "-" "curl/7.81.0"`; },
  'spark yy/MM/dd': (t) => { const p = parts(t); return `${p2(p.y % 100)}/${p2(p.mo)}/${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} ${MESSAGE}`; },
  'hdfs yyMMdd HHmmss': (t) => { const p = parts(t); return `${p2(p.y % 100)}${p2(p.mo)}${p2(p.d)} ${p2(p.h)}${p2(p.mi)}${p2(p.s)} 148 ${MESSAGE}`; },
  'android MM-dd': (t) => { const p = parts(t); return `${p2(p.mo)}-${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)}.${p3(p.ms)}  1702  2395 D ${MESSAGE}`; },
  'epoch seconds.ms': (t) => `${(t / 1000).toFixed(3)} ${MESSAGE}`,
  'nginx/go yyyy/MM/dd': (t) => { const p = parts(t); return `${p.y}/${p2(p.mo)}/${p2(p.d)} ${p2(p.h)}:${p2(p.mi)}:${p2(p.s)} [error] 2231#0: *17 ${MESSAGE}`; },
  'java Mmm d, yyyy h:mm:ss a': (t) => { const p = parts(t); return `${p.mon} ${p.d}, ${p.y} ${p.h % 12 || 12}:${p2(p.mi)}:${p2(p.s)} ${p.h < 12 ? 'AM' : 'PM'} ${MESSAGE}`; },
  'no timestamp (stack frame)': () => '\tat org.example.ingest.BatchWriter.flush(BatchWriter.java:211) ~[ingest-core-2.14.1.jar:2.14.1] caused by timeout after 30000 ms on 10.0.0.7',
};

function generate(format: (ms: number) => string, count: number, startMs: number): string[] {
  const lines: string[] = [];
  let t = startMs;
  for (let i = 0; i < count; i++) {
    t += (i * 7919) % 23; // a few ms apart, irregularly
    lines.push(format(t));
  }
  return lines;
}

/** Lines per second and MiB per second over repeated passes of at least MIN_SECONDS. */
function measure(module: FinderModule, lines: string[], timezone: string): { linesPerSecond: number; mibPerSecond: number; found: number } {
  const parser = module.createTimestampParser({ timezone });
  const layout = module.FileLayout ? new module.FileLayout() : undefined;
  const parse = parser.parse.bind(parser) as (line: string, notAfterMs?: number, layout?: object) => bigint | undefined;
  const notAfterMs = Date.UTC(2022, 0, 1);
  let bytes = 0;
  for (const line of lines) bytes += line.length + 1;
  let found = 0;
  for (const line of lines) if (parse(line, notAfterMs, layout) !== undefined) found++; // warm-up
  let passes = 0;
  const start = process.cpuUsage();
  let elapsed = 0;
  do {
    for (let i = 0; i < lines.length; i++) parse(lines[i] as string, notAfterMs, layout);
    passes++;
    const used = process.cpuUsage(start);
    elapsed = (used.user + used.system) / 1e6;
  } while (elapsed < MIN_SECONDS);
  return { linesPerSecond: (passes * lines.length) / elapsed, mibPerSecond: (passes * bytes) / elapsed / 1048576, found };
}

function report(name: string, lines: string[], timezone: string): void {
  const avg = lines.reduce((sum, l) => sum + l.length, 0) / lines.length;
  const r = measure(finder, lines, timezone);
  if (json) {
    console.log(JSON.stringify({ name, linesPerSecond: r.linesPerSecond }));
    return;
  }
  console.log(`${name.padEnd(30)} ${(r.linesPerSecond / 1e6).toFixed(2).padStart(6)} M lines/s ${r.mibPerSecond.toFixed(0).padStart(5)} MiB/s  avg ${avg.toFixed(0)} B  found ${((100 * r.found) / lines.length).toFixed(0)}%`);
}

const startMs = Date.UTC(2021, 11, 14, 7, 59, 50);
if (!json) console.log(`timestamp finder (${process.argv.includes('--source') ? 'source via tsx' : 'esbuild ESM bundle'})${finderRev !== undefined ? ` at ${finderRev}` : ''}, ${LINES_PER_SET} lines per set, Node ${process.version}, lines per CPU second`);
const sets = Object.entries(formats).map(([name, format]) => [name, generate(format, LINES_PER_SET, startMs)] as const);
for (const [name, lines] of sets) report(name, lines, 'UTC');
report('log4j naive, Europe/Oslo', generate(formats['log4j naive']!, LINES_PER_SET, startMs), 'Europe/Oslo');

// Generated afresh in interleaved order, so the strings lie in memory in reading order as
// they do in the agent's read buffer (picking them from the per-format arrays would
// measure cache misses instead).
const formatList = Object.values(formats);
const mixed: string[] = [];
for (let i = 0, t = startMs; i < LINES_PER_SET; i++, t += (i * 7919) % 23) mixed.push(formatList[i % formatList.length]!(t));
report('mixed (all formats interleaved)', mixed, 'UTC');

const loghub = [join(here, '..', '..', 'shared', 'data', 'loghub'), '/work/shared/data/loghub'].find((dir) => existsSync(dir));
if (loghub) {
  for (const system of ['Android', 'Apache', 'HDFS', 'Hadoop', 'Linux', 'OpenSSH', 'Spark', 'Zookeeper']) {
    const lines = readFileSync(resolve(loghub, system, `${system}_2k.log`), 'utf8').split('\n').filter((l) => l !== '');
    report(`loghub ${system}`, lines, 'UTC');
  }
}

