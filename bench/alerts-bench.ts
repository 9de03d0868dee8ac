/**
 * The alerts workload alone (bench/workloads/alerts.ts): prints one row per figure and one JSON line.
 *   node --enable-experimental-regexp-engine --import tsx bench/alerts-bench.ts [--lines 50000] [--reps 3] [--samples 200]
 */
import { parseArgs } from 'node:util';
import { measureAlerts } from './workloads/alerts.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
    samples: { type: 'string', default: '200' },
    seed: { type: 'string', default: '20261124' },
  },
});
const figures = await measureAlerts({
  lines: Number(values.lines),
  batch: Number(values.batch),
  reps: Number(values.reps),
  samples: Number(values.samples),
  seed: Number(values.seed),
  log: (message) => process.stderr.write(`${message}\n`),
});
const base = figures.linesPerSecond[0] ?? NaN;
const cpuBase = figures.linesPerCpuSecond[0] ?? NaN;
for (const [rules, rate] of Object.entries(figures.linesPerSecond)) {
  const cpuRate = figures.linesPerCpuSecond[Number(rules)] ?? NaN;
  process.stdout.write(
    `ingest with ${rules.padStart(4)} rules: ${Math.round(rate)} lines/s (${(100 * (1 - rate / base)).toFixed(1)}% below 0 rules); ${Math.round(cpuRate)} lines per CPU second (${(100 * (1 - cpuRate / cpuBase)).toFixed(1)}% below 0 rules)\n`,
  );
}
const l = figures.latencyMs;
process.stdout.write(`append -> notification, 100 rules: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms (${l.samples} samples, ${l.missing} missing)\n`);
process.stdout.write(`${JSON.stringify(figures)}\n`);
