/**
 * Workload 1, the agent: Henrik `--once` over the generated files into the null sink, on one
 * core, beside `cat` over the same files (the read limit) and syslog-ng shipping the same
 * files to the same sink. Throughput is bytes over the time from spawn until the sink has
 * received every line (startup included, for all three alike).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTool } from '../lib/apt.js';
import type { BenchContext } from '../lib/context.js';
import { workDir } from '../lib/paths.js';
import { hasTaskset, ProcSampler, startProcess, tail, timeCommand, withTimeout } from '../lib/proc.js';
import { summarizeProfiles } from '../lib/profile.js';
import { ratio, WorkloadReport, type Baseline, type WorkloadResult } from '../lib/results.js';
import { MiB } from '../lib/stats.js';
import { henrikArgs, resetSink, sinkStats, startHenrik, startSink, type Server, type SinkStats } from '../lib/system.js';

const AGENT_CPU = '0';
const STEADY_MIBPS = 10;
const SINK_CPU = '1';

interface ShipRun {
  seconds: number;
  /** CPU seconds (user + system) the shipper used until the sink had every line. */
  cpuSeconds: number;
  peakRssBytes: number;
  /** What the sink saw: requests, bytes on the wire and decompressed. */
  sink: SinkStats;
}

function describeRun(run: ShipRun): string {
  const { requests, lines, wireBytes, bodyBytes } = run.sink;
  return `${requests} requests of ${Math.round(lines / Math.max(1, requests))} lines on average, ${(wireBytes / MiB).toFixed(1)} MiB on the wire (${(bodyBytes / MiB).toFixed(1)} MiB decompressed)`;
}

/** Waits until the sink has `lines` lines; returns seconds since `startedAt` (epoch ms) at the last one. */
async function awaitSinkLines(sink: Server, lines: number, startedAt: number, timeoutMs: number, exited?: Promise<unknown>): Promise<number> {
  let done = false;
  void exited?.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await sinkStats(sink);
    if (stats.lines >= lines) return (stats.lastAt - startedAt) / 1000;
    if (Date.now() > deadline) throw new Error(`the sink received ${stats.lines} of ${lines} lines within ${timeoutMs / 1000} s`);
    if (done) {
      const final = await sinkStats(sink);
      if (final.lines >= lines) return (final.lastAt - startedAt) / 1000;
      throw new Error(`the agent exited after the sink received ${final.lines} of ${lines} lines`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runHenrik(ctx: BenchContext, sink: Server, report: WorkloadReport): Promise<ShipRun> {
  const stateDir = path.join(workDir, 'agent-henrik-state');
  rmSync(stateDir, { recursive: true, force: true });
  const options = { server: sink.url, token: 'bench', host: 'bench-agent', stateDir, globs: [path.join(ctx.data.dir, '*', '*.log')], cpus: AGENT_CPU, profileName: 'agent-henrik' };
  report.command(`TZ=UTC ${hasTaskset() ? `taskset -c ${AGENT_CPU} ` : ''}node dist/bin/henrik.js ${henrikArgs(options).join(' ')}`);
  await resetSink(sink);
  const startedAt = Date.now();
  const henrik = startHenrik(options);
  const memory = new ProcSampler(henrik.pid, 50);
  try {
    const timeoutMs = Math.max(120_000, (ctx.data.rawBytes / MiB) * 1000);
    const seconds = await awaitSinkLines(sink, ctx.data.totalLines, startedAt, timeoutMs, henrik.exited);
    memory.sample();
    const cpuSeconds = memory.cpuSeconds;
    const code = await withTimeout(henrik.exited, 60_000, 'no exit within 60 s');
    memory.stop();
    if (code !== 0) throw new Error(`henrik --once exited ${String(code)} after shipping: ${tail(henrik.output())}`);
    return { seconds, cpuSeconds, peakRssBytes: memory.peakBytes, sink: await sinkStats(sink) };
  } finally {
    memory.stop();
    await henrik.stop(5000);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Appends lines from the generated files at `bytesPerSecond` for `ms`; returns the lines written. */
async function appendAtRate(ctx: BenchContext, file: string, bytesPerSecond: number, ms: number): Promise<number> {
  const source = Buffer.concat(ctx.data.files.slice(0, 8).map((f) => readFileSync(f.path)));
  const fd = openSync(file, 'a');
  const started = performance.now();
  let written = 0;
  let lines = 0;
  let at = 0;
  try {
    while (performance.now() - started < ms) {
      const due = Math.floor(((performance.now() - started) / 1000) * bytesPerSecond);
      while (written < due) {
        if (at >= source.length) at = 0;
        // Whole lines only: cut each piece just after a newline.
        const end = Math.min(source.length, source.indexOf(10, Math.min(source.length - 1, at + (due - written))) + 1 || source.length);
        const piece = source.subarray(at, end);
        writeSync(fd, piece);
        lines += countNewlines(piece);
        written += piece.length;
        at = end;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

function countNewlines(buffer: Buffer): number {
  let count = 0;
  for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) count++;
  return count;
}

/** Henrik tailing one file written at 10 MiB/s: the memory target's own condition. */
async function runHenrikSteady(ctx: BenchContext, sink: Server, report: WorkloadReport): Promise<{ peakRssBytes: number; typicalRssBytes: number }> {
  const dir = path.join(workDir, 'agent-steady');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const file = path.join(dir, 'logs', 'app.log');
  writeFileSync(file, `${ctx.data.hostNeedles[0]!.token} first line\n`);
  const options = { server: sink.url, token: 'bench', host: 'bench-steady', stateDir: path.join(dir, 'state'), globs: [path.join(dir, 'logs', '*.log')], once: false, cpus: AGENT_CPU, profileName: 'agent-henrik-steady' };
  report.command(`TZ=UTC ${hasTaskset() ? `taskset -c ${AGENT_CPU} ` : ''}node dist/bin/henrik.js ${henrikArgs(options).join(' ')}  # while the harness appends ${STEADY_MIBPS} MiB/s for ${ctx.config.quick ? 5 : 20} s`);
  await resetSink(sink);
  const henrik = startHenrik(options);
  try {
    await awaitSinkLines(sink, 1, Date.now(), 30_000, henrik.exited);
    const memory = new ProcSampler(henrik.pid, 50);
    const lines = await appendAtRate(ctx, file, STEADY_MIBPS * MiB, ctx.config.quick ? 5_000 : 20_000);
    await awaitSinkLines(sink, lines + 1, Date.now(), 60_000, henrik.exited);
    memory.stop();
    return { peakRssBytes: memory.peakBytes, typicalRssBytes: memory.typicalBytes() };
  } finally {
    await henrik.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

function syslogNgConfig(dataDir: string, sinkUrl: string, files: number): string {
  // Each reader gets a window of 10,000 messages (log-iw-size is split across max-files);
  // flow-control so nothing is dropped; no parsing and no compression (syslog-ng 3.38's
  // http() has none), so it does less work per line than Henrik does.
  return `@version: 3.38
options { threaded(yes); use-dns(no); dns-cache(no); stats-freq(0); };
source s_files { wildcard-file(base-dir("${dataDir}") filename-pattern("*.log") recursive(yes) follow-freq(1)
  flags(no-parse) max-files(${files}) log-iw-size(${files * 10_000})); };
destination d_http { http(url("${sinkUrl}/syslog-ng") method("POST") workers(1) batch-lines(1000) batch-bytes(1048576)
  batch-timeout(100) body("\${MESSAGE}") delimiter("\\n")); };
log { source(s_files); destination(d_http); flags(flow-control); };
`;
}

async function runSyslogNg(ctx: BenchContext, sink: Server, binary: string, report: WorkloadReport): Promise<ShipRun> {
  const dir = path.join(workDir, 'syslog-ng');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'syslog-ng.conf');
  writeFileSync(config, syslogNgConfig(ctx.data.dir, sink.url, ctx.data.files.length));
  const args = ['-F', '--no-caps', '-f', config, '-R', path.join(dir, 'persist'), '-p', path.join(dir, 'pid'), '-c', path.join(dir, 'ctl')];
  report.command(`${hasTaskset() ? `taskset -c ${AGENT_CPU} ` : ''}syslog-ng ${args.join(' ')}  # config: wildcard-file -> http(), written to bench/.work/syslog-ng/`);
  await resetSink(sink);
  const startedAt = Date.now();
  const proc = startProcess('syslog-ng', binary, args, { cpus: AGENT_CPU });
  const memory = new ProcSampler(proc.pid, 50);
  try {
    const timeoutMs = Math.max(120_000, (ctx.data.rawBytes / MiB) * 1000);
    const seconds = await awaitSinkLines(sink, ctx.data.totalLines, startedAt, timeoutMs, proc.exited);
    memory.sample();
    return { seconds, cpuSeconds: memory.cpuSeconds, peakRssBytes: memory.peakBytes, sink: await sinkStats(sink) };
  } catch (error) {
    throw new Error(`${(error as Error).message}; syslog-ng said: ${tail(proc.output(), 300)}`);
  } finally {
    memory.stop();
    await proc.stop(5000);
  }
}

export async function agentWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('agent', 'Agent: tail + stamp + batch + gzip into a null HTTP sink, one core');
  const { rawBytes, totalLines } = ctx.data;
  const mib = rawBytes / MiB;
  const files = ctx.data.files.map((file) => file.path);
  if (!hasTaskset()) report.note('taskset is not available: the agent and syslog-ng were not pinned to one core.');

  // cat: the read limit. Best of a few runs, page cache warm (the files were just written or read).
  const catArgs = [...files];
  report.command(`${hasTaskset() ? `taskset -c ${AGENT_CPU} ` : ''}cat <the ${files.length} generated files> > /dev/null`);
  const catRuns = [0, 1, 2].map(() => timeCommand('sh', ['-c', 'cat "$@" > /dev/null', 'cat', ...catArgs], { cpus: AGENT_CPU }));
  const catSeconds = Math.min(...catRuns.map((run) => run.ms)) / 1000;
  const catBaseline: Baseline = { name: 'cat (read limit)', value: mib / catSeconds, unit: 'MiB/s' };

  // The sink gets the other core when there is one, so it never competes with the agent.
  const sink = await startSink(hasTaskset() && os.availableParallelism() > 1 ? SINK_CPU : undefined);
  try {
    let syslogNg: Baseline;
    let syslogNgRss: Baseline;
    let syslogNgPerCpu: Baseline;
    const tool = ensureTool('syslog-ng', ['syslog-ng-core', 'syslog-ng-mod-http'], ctx.log);
    if (!tool.path) {
      syslogNg = { name: 'syslog-ng', unit: 'MiB/s', notMeasured: tool.note };
      syslogNgRss = { name: 'syslog-ng', unit: 'MiB', notMeasured: tool.note };
      syslogNgPerCpu = { name: 'syslog-ng', unit: 'MiB/CPU-s', notMeasured: tool.note };
      report.note(`syslog-ng skipped: ${tool.note}`);
    } else {
      try {
        const run = await runSyslogNg(ctx, sink, tool.path, report);
        syslogNg = { name: 'syslog-ng 3.38 (no parse, no gzip)', value: mib / run.seconds, unit: 'MiB/s' };
        report.note(`syslog-ng: ${run.seconds.toFixed(2)} s, ${describeRun(run)}.`);
        syslogNgRss = { name: 'syslog-ng', value: run.peakRssBytes / MiB, unit: 'MiB' };
        syslogNgPerCpu = { name: 'syslog-ng', value: mib / run.cpuSeconds, unit: 'MiB/CPU-s' };
      } catch (error) {
        const why = (error as Error).message;
        syslogNg = { name: 'syslog-ng', unit: 'MiB/s', notMeasured: why };
        syslogNgRss = { name: 'syslog-ng', unit: 'MiB', notMeasured: why };
        syslogNgPerCpu = { name: 'syslog-ng', unit: 'MiB/CPU-s', notMeasured: why };
        report.note(`syslog-ng failed: ${why}`);
      }
    }

    let henrik: ShipRun | undefined;
    let henrikError: string | undefined;
    try {
      henrik = await runHenrik(ctx, sink, report);
    } catch (error) {
      henrikError = `henrik: ${(error as Error).message}`;
    }
    const henrikMiBps = henrik && mib / henrik.seconds;
    syslogNg.ratio = ratio(henrikMiBps, syslogNg.value);
    catBaseline.ratio = ratio(henrikMiBps, catBaseline.value);
    report.add({
      name: 'throughput',
      value: henrikMiBps,
      unit: 'MiB/s',
      notMeasured: henrikError,
      baselines: [catBaseline, syslogNg],
      target: {
        text: '>= 50 MiB/s and >= 1.5x syslog-ng',
        pass: henrikMiBps === undefined ? undefined : henrikMiBps >= 50 && (syslogNg.ratio === undefined ? undefined : syslogNg.ratio >= 1.5),
      },
      note: henrik && `${mib.toFixed(1)} MiB, ${totalLines} lines, spawn to last line at the sink in ${henrik.seconds.toFixed(2)} s (startup included); ${describeRun(henrik)}`,
    });
    for (const line of summarizeProfiles('agent-henrik')) report.note(line);
    report.add({
      name: 'lines/s',
      value: henrik && totalLines / henrik.seconds,
      unit: 'lines/s',
      notMeasured: henrikError,
      baselines: [{ name: 'cat (read limit)', value: totalLines / catSeconds, unit: 'lines/s', ratio: ratio(henrik && catSeconds / henrik.seconds, 1) }],
    });
    const perCpu = henrik && mib / henrik.cpuSeconds;
    syslogNgPerCpu.ratio = ratio(perCpu, syslogNgPerCpu.value);
    report.add({
      name: 'MiB per CPU-second',
      value: perCpu,
      unit: 'MiB/CPU-s',
      notMeasured: henrikError,
      baselines: [syslogNgPerCpu],
      note: henrik && `${henrik.cpuSeconds.toFixed(2)} CPU-seconds (user + system, /proc/PID/stat): the same comparison, less sensitive to other load on the core`,
    });
    const rssMiB = henrik && henrik.peakRssBytes / MiB;
    syslogNgRss.ratio = ratio(syslogNgRss.value, rssMiB);
    report.add({ name: 'peak resident memory at full speed', value: rssMiB, unit: 'MiB', notMeasured: henrikError, baselines: [syslogNgRss] });
    let steady: { peakRssBytes: number; typicalRssBytes: number } | undefined;
    let steadyError: string | undefined;
    try {
      steady = await runHenrikSteady(ctx, sink, report);
    } catch (error) {
      steadyError = `henrik tailing at ${STEADY_MIBPS} MiB/s: ${(error as Error).message}`;
    }
    const steadyMiB = steady && steady.peakRssBytes / MiB;
    report.add({
      name: `peak resident memory while shipping ${STEADY_MIBPS} MiB/s`,
      value: steadyMiB,
      unit: 'MiB',
      notMeasured: steadyError,
      target: { text: '<= 80 MiB', pass: steadyMiB === undefined ? undefined : steadyMiB <= 80 },
      note: steady && `median ${(steady.typicalRssBytes / MiB).toFixed(1)} MiB; one file appended at ${STEADY_MIBPS} MiB/s, tailed live (no --once)`,
    });
    return report.finish();
  } finally {
    await sink.proc.stop(5000);
  }
}
