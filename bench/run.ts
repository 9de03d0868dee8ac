/**
 * The benchmark harness: `npm run bench` (10M lines) or `npm run bench:quick` (200k).
 * Generates the data, runs each workload through real processes, and writes
 * bench/results/<date>.json and docs/benchmarks.md. Workloads live in bench/workloads/;
 * a workload whose part is missing reports "not measured" and why, never a number.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchConfig, type BenchContext } from './lib/context.js';
import { generateData } from './lib/datagen.js';
import { machineInfo } from './lib/machine.js';
import { docsFile, loghubDir, repoRoot, resultsDir, workDir } from './lib/paths.js';
import { enableProfiling } from './lib/profile.js';
import { formatValue, MODE_MARKER, renderMarkdown, type RunResults } from './lib/report.js';
import type { WorkloadResult } from './lib/results.js';
import { buildWarning } from './lib/system.js';
import { agentWorkload } from './workloads/agent.js';
import { containersWorkload } from './workloads/containers.js';
import { alertsWorkload } from './workloads/alerts.js';
import { dynamodbWorkload } from './workloads/dynamodb.js';
import { httpWorkload } from './workloads/http.js';
import { ingestWorkload } from './workloads/ingest.js';
import { journalWorkload } from './workloads/journal.js';
import { inputsWorkload } from './workloads/inputs.js';
import { latencyWorkload } from './workloads/latency.js';
import { loadWorkload } from './workloads/load.js';
import { manyFilesWorkload } from './workloads/many-files.js';
import { queriesWorkload } from './workloads/queries.js';
import { storageWorkload } from './workloads/storage.js';
import { syslogWorkload } from './workloads/syslog.js';

const started = performance.now();
const log = (message: string): void => {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
};

const machine = machineInfo();
const config = benchConfig(process.argv.slice(2));
const mode = config.quick ? 'quick' : 'full';
const argv = process.argv.slice(2);
const command = argv.length === 0 ? 'npm run bench' : argv.join(' ') === '--quick' ? 'npm run bench:quick' : `node --import tsx bench/run.ts ${argv.join(' ')}`;
mkdirSync(workDir, { recursive: true });
if (config.profile) {
  rmSync(path.join(workDir, 'profiles'), { recursive: true, force: true });
  enableProfiling();
}
const warnings: string[] = [];
const warning = buildWarning();
if (warning) {
  warnings.push(warning);
  log(`warning: ${warning}`);
}

log(`${mode} run: ${config.totalLines} lines, seed ${config.seed}; ${machine.cores} cores, load average ${machine.loadAverage.toFixed(2)}`);
const data = generateData(loghubDir(), { seed: config.seed, totalLines: config.totalLines, hosts: config.hosts, baseDir: workDir, log });
if (data.needleCollisions > 0) warnings.push(`${data.needleCollisions} generated lines contain the needle mark by chance: needle queries may find more than one line`);
const ctx: BenchContext = { config, data, token: randomBytes(16).toString('hex'), log };

const selected = (id: string): boolean => config.only.length === 0 || config.only.includes(id);
const workloads: WorkloadResult[] = [];
let agentLinesPerSecond: number | undefined;

async function run(id: string, body: () => Promise<WorkloadResult>, needed = selected(id)): Promise<void> {
  if (!needed) return;
  log(`workload ${id}: start`);
  let result: WorkloadResult;
  try {
    result = await body();
  } catch (error) {
    result = { id, title: id, figures: [], notMeasured: `the workload failed: ${(error as Error).stack ?? String(error)}`, notes: [], commands: [], seconds: 0 };
  }
  workloads.push(result);
  for (const figure of result.figures) {
    const shown = figure.notMeasured ? `not measured: ${figure.notMeasured}` : `${formatValue(figure.value, figure.unit)}${figure.p99 === undefined ? '' : ` (p99 ${formatValue(figure.p99, figure.unit)})`}`;
    log(`  ${id} / ${figure.name}: ${shown.slice(0, 400)}${figure.outcome === 'n/a' ? '' : ` [${figure.outcome}]`}`);
  }
  if (result.notMeasured) log(`  ${id}: not measured: ${result.notMeasured.slice(0, 400)}`);
}

try {
  await run('agent', async () => {
    const result = await agentWorkload(ctx);
    agentLinesPerSecond = result.figures.find((f) => f.name === 'lines/s')?.value;
    return result;
  });
  // ingest leaves Daniel running for queries, latency and http; storage stops it.
  await run('ingest', () => ingestWorkload(ctx, agentLinesPerSecond), ['ingest', 'queries', 'latency', 'storage'].some(selected));
  await run('queries', () => queriesWorkload(ctx));
  await run('latency', () => latencyWorkload(ctx));
  await run('http', () => httpWorkload(ctx));
  await run('storage', () => storageWorkload(ctx));
  await run('dynamodb', () => dynamodbWorkload(ctx));
  await run('load', () => loadWorkload(ctx));
  await run('many-files', () => manyFilesWorkload(ctx));
  await run('journal', () => journalWorkload(ctx));
  await run('syslog', () => syslogWorkload(ctx));
  await run('containers', () => containersWorkload(ctx));
  await run('inputs', () => inputsWorkload(ctx));
  await run('alerts', () => alertsWorkload(ctx));
} finally {
  await ctx.daniel?.proc.stop(30_000);
}

const { files, ...manifest } = data;
const results: RunResults = { mode, machine, config, data: { ...manifest, files: files.length }, warnings, workloads, command };
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
const resultsFile = path.join(resultsDir, `${stamp}${config.quick ? '-quick' : ''}.json`);
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
log(`wrote ${path.relative(repoRoot, resultsFile)}`);

// A partial run (--only) never writes the page, and a quick run does not overwrite a full
// run's page, unless asked (--docs).
const existing = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '';
const complete = config.only.length === 0;
if (config.forceDocs || (complete && (mode === 'full' || !existing.includes(MODE_MARKER('full'))))) {
  writeFileSync(docsFile, renderMarkdown(results));
  log(`wrote ${path.relative(repoRoot, docsFile)}`);
} else log(`kept ${path.relative(repoRoot, docsFile)} (${complete ? 'it holds a full run' : 'this run was partial'}; pass --docs to replace it)`);
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
