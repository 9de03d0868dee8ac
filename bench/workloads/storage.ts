/**
 * Workload 4, storage: Daniel's data dir on disk after the ingest, over the raw bytes of
 * the lines, measured after Daniel is stopped (so SQLite has checkpointed its WAL); beside
 * gzip -6 and zstd -3 (when installed) of the same bytes as a stream. Daniel compresses sealed
 * segments again while idle (src/storage/sqlite/repacker.ts): the workload first leaves it idle
 * until /metrics says none is left (at most REPACK_WAIT_MS), and says how long that took.
 */
import type { BenchContext } from '../lib/context.js';
import { getMetrics } from '../lib/api.js';
import { cpuSeconds, which } from '../lib/proc.js';
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { ratio, WorkloadReport, type Baseline, type WorkloadResult } from '../lib/results.js';
import { MiB } from '../lib/stats.js';
import { apparentBytes, diskBytes } from '../lib/system.js';
import { summarizeProfiles } from '../lib/profile.js';

function compressedRatio(ctx: BenchContext, tool: string, args: string[]): Baseline {
  const name = `${tool} ${args.join(' ')} (one stream)`;
  if (!which(tool)) return { name, unit: 'of raw', notMeasured: `${tool} is not installed` };
  const files = ctx.data.files.map((f) => `'${f.path}'`).join(' ');
  const result = spawnSync('sh', ['-c', `cat ${files} | ${tool} ${args.join(' ')} | wc -c`], { encoding: 'utf8', maxBuffer: 2 ** 20 });
  const bytes = Number(result.stdout.trim());
  if (result.status !== 0 || !Number.isFinite(bytes)) return { name, unit: 'of raw', notMeasured: `${tool} failed` };
  return { name, value: bytes / ctx.data.rawBytes, unit: 'of raw' };
}

const REPACK_WAIT_MS = 600_000;

/** Waits, idle, until Daniel has repacked every sealed segment: what it did, or why it stopped waiting. */
async function waitForRepack(ctx: BenchContext): Promise<string> {
  const started = performance.now();
  const cpuBefore = cpuSeconds(ctx.daniel!.proc.pid) ?? 0;
  const toRepack = async (): Promise<number | undefined> => (await getMetrics(ctx))('daniel_store_segments_to_repack');
  const first = await toRepack();
  if (first === undefined) return 'Daniel does not repack (no daniel_store_segments_to_repack)';
  let left = first;
  while (left > 0 && performance.now() - started < REPACK_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    left = (await toRepack()) ?? 0;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = (cpuSeconds(ctx.daniel!.proc.pid) ?? cpuBefore) - cpuBefore;
  const saved = (await getMetrics(ctx))('daniel_store_repack_saved_bytes') ?? 0;
  return `before stopping Daniel: ${first} sealed segments were still to repack; the workload waited ${seconds.toFixed(1)} s with Daniel idle (${cpu.toFixed(1)} CPU-seconds) until ${left} were left; repacking saved ${(saved / MiB).toFixed(1)} MiB of blobs since Daniel started`;
}

export async function storageWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('storage', 'Storage: bytes on disk / raw bytes');
  const target = { text: '<= 0.35', pass: undefined };
  if (!ctx.daniel || ctx.danielMissing) {
    report.add({ name: 'bytes on disk / raw bytes', unit: 'of raw', notMeasured: `needs the ingested Daniel (see ingest): ${ctx.danielMissing ?? 'not started'}`, target });
    return report.finish();
  }
  try {
    report.note(await waitForRepack(ctx));
  } catch (error) {
    report.note(`could not follow the repacking through /metrics: ${(error as Error).message}`);
  }
  const stopping = performance.now();
  const code = await ctx.daniel.proc.stop(60_000);
  const stopSeconds = (performance.now() - stopping) / 1000;
  if (code !== 0 || stopSeconds > 5) report.note(`Daniel exited ${String(code)} ${stopSeconds.toFixed(1)} s after SIGTERM (the harness still held idle keep-alive connections).`);
  // Daniel writes its profile on exit: it covers ingest, queries, latency and http.
  for (const line of summarizeProfiles('daniel-sqlite')) report.note(`${line} (Daniel from ingest to here)`);
  const { dataDir, ingestedLines } = ctx.daniel;
  ctx.daniel = undefined;
  ctx.danielMissing = 'stopped after the storage measurement';
  const onDisk = diskBytes(dataDir);
  const apparent = apparentBytes(dataDir);
  report.command('GET /metrics every second until daniel_store_segments_to_repack is 0 (at most 600 s), with nothing else sent to Daniel');
  report.command(`du -sB1 bench/.work/daniel-sqlite (allocated blocks) after SIGTERM; raw = sum of the generated files' sizes`);
  report.command('cat <generated files> | gzip -6 | wc -c ; cat <generated files> | zstd -3 | wc -c');
  const value = onDisk / ctx.data.rawBytes;
  // Nothing reads the data dir after this; a full run's is several hundred MB. BENCH_KEEP_STORE=<dir> moves it there instead (bench/store-anatomy.ts reads it).
  const keep = process.env.BENCH_KEEP_STORE;
  if (keep) {
    rmSync(keep, { recursive: true, force: true });
    renameSync(dataDir, keep);
  } else {
    rmSync(dataDir, { recursive: true, force: true });
  }
  report.add({
    name: 'bytes on disk / raw bytes',
    value,
    unit: 'of raw',
    baselines: [compressedRatio(ctx, 'gzip', ['-6']), compressedRatio(ctx, 'zstd', ['-3'])].map((b) => ({ ...b, ratio: ratio(b.value, value) })),
    target: { text: target.text, pass: value <= 0.35 },
    note: `${(onDisk / MiB).toFixed(1)} MiB on disk (${(apparent / MiB).toFixed(1)} MiB apparent) for ${(ctx.data.rawBytes / MiB).toFixed(1)} MiB raw, ${ingestedLines} lines`,
  });
  return report.finish();
}
