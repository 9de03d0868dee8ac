/**
 * Where a paging walk's time goes: the harness's "every match of ERROR, counted by paging"
 * (GET /logs?filter=ERROR&count=10000, then each `next`) against a store the harness
 * ingested, page by page. For each page it prints the time to the answer's headers (Daniel
 * still making the page: with a cursor, the page made ahead was not ready), to its last byte,
 * and the client's JSON.parse; for each walk, the CPU Daniel and this client spent on it.
 *
 *   npm run build && node --import tsx bench/run.ts --only ingest   # leaves bench/.work/daniel-sqlite
 *   node --import tsx bench/paging-bench.ts [--data-dir bench/.work/daniel-sqlite] [--walks 6] [--term ERROR]
 *
 * The store is copied first (Daniel's idle work would change the original). On two cores the
 * walk is bounded below by (Daniel's CPU + the client's CPU) / 2; a walk near Daniel's own CPU
 * means Daniel is on the critical path.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { cpuSeconds } from './lib/proc.js';
import { median } from './lib/stats.js';
import { startDaniel } from './lib/system.js';
import { workDir } from './lib/paths.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: path.join(workDir, 'daniel-sqlite') },
    walks: { type: 'string', default: '6' },
    term: { type: 'string', default: 'ERROR' },
  },
});
const source = values['data-dir'];
if (!existsSync(path.join(source, 'daniel.db'))) {
  console.error(`${source} holds no store: run \`node --import tsx bench/run.ts --only ingest\` first, or pass --data-dir`);
  process.exit(2);
}
const walks = Number(values.walks);
const copy = mkdtempSync(path.join(tmpdir(), 'paging-bench-'));
cpSync(source, copy, { recursive: true });
const token = 'tok-paging-bench-0001';
const daniel = await startDaniel({ dataDir: copy, token, profileName: 'daniel-paging' });
const headers = { authorization: `Bearer ${token}` };

interface Walk {
  ms: number;
  lines: number;
  /** Per page: ms to the headers, to the last byte, and JSON.parse. */
  pages: [number, number, number][];
  danielCpuMs: number;
  clientCpuMs: number;
}

async function walk(): Promise<Walk> {
  const danielBefore = cpuSeconds(daniel.proc.pid) ?? 0;
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const pages: [number, number, number][] = [];
  let lines = 0;
  for (let url: string | undefined = `${daniel.url}/logs?${new URLSearchParams({ filter: values.term, count: '10000' })}`; url !== undefined; ) {
    const a = performance.now();
    const response = await fetch(url, { headers });
    const b = performance.now();
    const text = await response.text();
    const c = performance.now();
    if (!response.ok) throw new Error(`${url}: ${response.status} ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { data: unknown[]; next?: string };
    pages.push([b - a, c - b, performance.now() - c]);
    lines += body.data.length;
    url = body.next;
  }
  const ms = performance.now() - started;
  const client = process.cpuUsage(clientBefore);
  return { ms, lines, pages, danielCpuMs: ((cpuSeconds(daniel.proc.pid) ?? 0) - danielBefore) * 1000, clientCpuMs: (client.user + client.system) / 1000 };
}

try {
  const first = await walk();
  console.log(`untimed first walk: ${first.ms.toFixed(0)} ms, ${first.lines} lines in ${first.pages.length} pages (Daniel ${first.danielCpuMs.toFixed(0)} CPU ms)`);
  const timed: Walk[] = [];
  for (let i = 0; i < walks; i++) {
    const w = await walk();
    timed.push(w);
    const perPage = w.pages.map(([h, b, p]) => `${h.toFixed(0)}/${b.toFixed(0)}/${p.toFixed(0)}`).join(' ');
    console.log(`walk ${i + 1}: ${w.ms.toFixed(0)} ms; Daniel ${w.danielCpuMs.toFixed(0)} CPU ms, client ${w.clientCpuMs.toFixed(0)}; pages (headers/body/parse ms): ${perPage}`);
  }
  const sum = (w: Walk, k: 0 | 1 | 2): number => w.pages.reduce((s, page) => s + page[k], 0);
  const p50 = (of: (w: Walk) => number): number => median(timed.map(of))!;
  const danielMs = p50((w) => w.danielCpuMs);
  console.log(
    `p50 of ${walks}: walk ${p50((w) => w.ms).toFixed(0)} ms; Daniel ${danielMs.toFixed(0)} CPU ms (${((danielMs * 1000) / first.lines).toFixed(1)} µs a line), ` +
      `client ${p50((w) => w.clientCpuMs).toFixed(0)} CPU ms; waiting for headers ${p50((w) => sum(w, 0)).toFixed(0)} ms, bodies ${p50((w) => sum(w, 1)).toFixed(0)} ms, parsing ${p50((w) => sum(w, 2)).toFixed(0)} ms`,
  );
} finally {
  await daniel.proc.stop(5000);
  rmSync(copy, { recursive: true, force: true });
}
