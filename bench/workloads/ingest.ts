/**
 * Workload 2, ingest: one Henrik `--once` per host, all at once, into a Daniel on SQLite;
 * acknowledged lines per second end to end (spawn to the last Henrik's exit, which waits
 * for every acknowledgement), with Daniel's CPU and memory from /proc. Daniel stays up with
 * the data for the query, latency and HTTP workloads.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { workDir } from '../lib/paths.js';
import { cpuSeconds, ProcSampler, tail } from '../lib/proc.js';
import { summarizeProfiles } from '../lib/profile.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { MiB } from '../lib/stats.js';
import { danielCommand, henrikArgs, startDaniel, startHenrik } from '../lib/system.js';
import { getJson } from '../lib/api.js';
import type { HostEntry } from '../../src/protocol/api.js';

export async function ingestWorkload(ctx: BenchContext, agentLinesPerSecond?: number): Promise<WorkloadResult> {
  const report = new WorkloadReport('ingest', 'Ingest: Henrik -> Daniel -> SQLite, acknowledged lines/s');
  const dataDir = path.join(workDir, 'daniel-sqlite');
  rmSync(dataDir, { recursive: true, force: true });
  report.command(`DANIEL_TOKENS=admin:… node --enable-experimental-regexp-engine dist/bin/daniel.js ${danielCommand({ dataDir, token: '' }).join(' ')}`);
  let daniel;
  try {
    daniel = await startDaniel({ dataDir, token: ctx.token, profileName: 'daniel-sqlite' });
  } catch (error) {
    ctx.danielMissing = `daniel serve did not start: ${(error as Error).message}`;
    report.add({ name: 'acknowledged lines/s', unit: 'lines/s', notMeasured: ctx.danielMissing, target: { text: '>= 100k lines/s', pass: undefined } });
    return report.finish();
  }
  const memory = new ProcSampler(daniel.proc.pid, 100);
  const cpuBefore = cpuSeconds(daniel.proc.pid) ?? 0;
  const started = performance.now();
  const henriks = ctx.config.hosts.map((host) => {
    const options = {
      server: daniel.url,
      token: ctx.token,
      host,
      stateDir: path.join(workDir, `ingest-henrik-state-${host}`),
      globs: [path.join(ctx.data.dir, host, '*.log')],
      profileName: 'ingest-henrik',
    };
    rmSync(options.stateDir, { recursive: true, force: true });
    report.command(`TZ=UTC node dist/bin/henrik.js ${henrikArgs({ ...options, token: '…' }).join(' ')}  # one per host, concurrently`);
    return startHenrik(options);
  });
  const henrikSamplers = henriks.map((henrik) => new ProcSampler(henrik.pid, 100));
  const timeoutMs = Math.max(300_000, ctx.data.totalLines / 10);
  const timer = setTimeout(() => henriks.forEach((h) => h.child.kill('SIGKILL')), timeoutMs);
  const codes = await Promise.all(henriks.map((h) => h.exited));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  const cpu = (cpuSeconds(daniel.proc.pid) ?? cpuBefore) - cpuBefore;
  memory.stop();
  henrikSamplers.forEach((sampler) => sampler.stop());
  for (const host of ctx.config.hosts) rmSync(path.join(workDir, `ingest-henrik-state-${host}`), { recursive: true, force: true });
  const henrikCpu = henrikSamplers.reduce((sum, sampler) => sum + sampler.cpuSeconds, 0);
  ctx.daniel = { ...daniel, dataDir, ingestedLines: 0 };

  const failed = henriks.find((_, i) => codes[i] !== 0);
  if (failed) {
    const why = `${failed.name} exited ${String(codes[henriks.indexOf(failed)])}: ${tail(failed.output(), 400)}`;
    ctx.danielMissing = `ingest failed: ${why}`;
    report.add({ name: 'acknowledged lines/s', unit: 'lines/s', notMeasured: why, target: { text: '>= 100k lines/s', pass: undefined } });
    return report.finish();
  }
  let stored: number | undefined;
  try {
    const hosts = await getJson<{ data: HostEntry[] }>(ctx, '/hosts/');
    stored = hosts.data.reduce((sum, entry) => sum + (entry.lines ?? 0), 0);
  } catch (error) {
    report.note(`could not read /hosts/ to check the stored line count: ${(error as Error).message}`);
  }
  ctx.daniel.ingestedLines = stored ?? ctx.data.totalLines;
  if (stored !== undefined && stored !== ctx.data.totalLines) report.note(`Daniel reports ${stored} stored lines, ${ctx.data.totalLines} were written.`);

  const linesPerSecond = ctx.data.totalLines / seconds;
  report.add({
    name: 'acknowledged lines/s',
    value: linesPerSecond,
    unit: 'lines/s',
    baselines: agentLinesPerSecond ? [{ name: 'Henrik into the null sink (workload 1, one core)', value: agentLinesPerSecond, unit: 'lines/s', ratio: linesPerSecond / agentLinesPerSecond }] : [],
    target: { text: '>= 100k lines/s', pass: linesPerSecond >= 100_000 },
    note: `${ctx.data.totalLines} lines (${(ctx.data.rawBytes / MiB).toFixed(0)} MiB) from ${henriks.length} hosts in ${seconds.toFixed(1)} s; stored lines per /hosts/: ${stored ?? 'unknown'}`,
  });
  report.add({
    name: 'Daniel CPU while ingesting',
    value: cpu / seconds,
    unit: 'cores',
    note: `${cpu.toFixed(1)} CPU-seconds over ${seconds.toFixed(1)} s; the Henriks used ${henrikCpu.toFixed(1)} CPU-seconds (sampled every 100 ms until they exited)`,
  });
  for (const line of summarizeProfiles('ingest-henrik')) report.note(line);
  report.add({ name: 'Daniel peak resident memory', value: memory.peakBytes / MiB, unit: 'MiB' });
  return report.finish();
}
