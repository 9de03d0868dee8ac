/**
 * What a full garbage collection does to `process.nextTick` in a started Daniel, with and
 * without one tick entry kept alive (src/common/tick-shape.ts), beside a bare Node process.
 *
 * Each variant is its own process: it starts a server with the memory store the way
 * `daniel serve` does (without its keepTickShape call), keeps a tick entry first or not, runs
 * one full collection (`gc()`), then times rounds of 500,000 nextTick callbacks (1,000 queued
 * at a time) and prints the fastest and the median round, in ns per callback. Variants run
 * alternating, `--rounds` times each.
 *
 *   node --import tsx bench/tick-shape-bench.ts [--rounds 2] [--dist]
 *
 * Measured on Node 20.20.2 (2026-12-06): bare 45-55 ns; Daniel without the kept entry
 * 250-270 ns; with it 45-55 ns. `--dist` runs the built dist/ instead of src/ through tsx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 2;
const DIST = process.argv.includes('--dist');
const moduleOf = (relative: string): string => (DIST ? path.join(root, 'dist', `${relative}.js`) : path.join(root, 'src', `${relative}.ts`));

// The servers' data dir (tokens and alerts files; the memory store keeps no lines on disk).
const dataDir = mkdtempSync(path.join(tmpdir(), 'tick-shape-bench-'));

const TIMING = `
const timeRounds = () => new Promise((resolve) => {
  const results = [];
  const round = () => {
    const N = 1000, R = 500; let r = 0, n = 0; const t0 = process.hrtime.bigint();
    const cb = () => {
      if (++n < N) return;
      n = 0;
      if (++r < R) { setImmediate(batch); return; }
      results.push(Number(process.hrtime.bigint() - t0) / (N * R));
      if (results.length < 7) setTimeout(round, 100);
      else { results.sort((a, b) => a - b); resolve({ min: results[0], median: results[3] }); }
    };
    const batch = () => { for (let i = 0; i < N; i++) process.nextTick(cb); };
    batch();
  };
  round();
});`;

function script(variant: 'bare' | 'daniel' | 'daniel-kept'): string {
  if (variant === 'bare') return `${TIMING}\nglobalThis.gc(); const t = await timeRounds(); console.log(JSON.stringify(t)); process.exit(0);`;
  return `${TIMING}
const { keepTickShape } = await import(${JSON.stringify(moduleOf('common/tick-shape'))});
if (${variant === 'daniel-kept'}) keepTickShape();
const { startServer } = await import(${JSON.stringify(moduleOf('server/run'))});
const { loadServeConfig } = await import(${JSON.stringify(moduleOf('server/config'))});
const quiet = { info: () => {}, warn: (line) => console.error(line) };
await startServer(loadServeConfig({ store: 'memory', listen: '127.0.0.1:0', dataDir: ${JSON.stringify(dataDir)} }, { DANIEL_TOKENS: 'admin:tick-shape-bench' }), quiet);
globalThis.gc();
const t = await timeRounds();
console.log(JSON.stringify(t));
process.exit(0);`;
}

const variants = ['bare', 'daniel', 'daniel-kept'] as const;
const results = new Map<string, { min: number; median: number }[]>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const args = ['--expose-gc', '--enable-experimental-regexp-engine', ...(DIST ? [] : ['--import', 'tsx']), '--input-type=module', '-e', script(variant)];
      const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const line = run.stdout.trim().split('\n').pop() ?? '';
      if (run.status !== 0 || !line.startsWith('{')) throw new Error(`${variant}: exit ${run.status}\n${run.stderr}`);
      const timing = JSON.parse(line) as { min: number; median: number };
      results.set(variant, [...(results.get(variant) ?? []), timing]);
      console.log(`round ${round + 1} ${variant.padEnd(12)} nextTick ${timing.min.toFixed(0)} ns fastest, ${timing.median.toFixed(0)} ns median`);
    }
  }
  console.log(`\nns per nextTick callback after one full collection (fastest round of 7, best of ${ROUNDS} processes):`);
  for (const variant of variants) {
    const best = Math.min(...(results.get(variant) ?? []).map((t) => t.min));
    console.log(`  ${variant.padEnd(12)} ${best.toFixed(0)}`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
