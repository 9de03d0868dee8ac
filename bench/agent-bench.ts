/**
 * Henrik's read path at full speed: reading, stamping, batching, gzipping and spooling
 * real-format lines (loghub's eight formats, numbers varied) into a null HTTP sink running
 * in its own process. Reports MiB/s and lines/s of wall time and per CPU-second (the
 * one-core figure; run under `taskset -c 0` to pin it), beside `cat` over the same files;
 * then the built binary's peak resident memory while tailing a file written at 10 MiB/s;
 * then the delay from appending a line to its arrival at the sink, one line every 50 ms.
 *
 *   npm run build && node --import tsx bench/agent-bench.ts [--mib 200] [--live-seconds 10] [--latency-seconds 10]
 *   (--mib 0 or --live-seconds 0 or --latency-seconds 0 skips that part; --bin FILE runs another henrik build)
 * Generated data lives in os.tmpdir() and is removed afterwards.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decompressBody } from '../src/agent/wire-body.js';
import { appendFileSync, createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from '../src/agent/agent.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TARGET_MIB = arg('mib', 200);
const LIVE_SECONDS = arg('live-seconds', 10);
const LATENCY_SECONDS = arg('latency-seconds', 10);
const BIN = args.includes('--bin') ? path.resolve(args[args.indexOf('--bin') + 1] ?? '') : new URL('../dist/bin/henrik.js', import.meta.url).pathname;
const LOGHUB = '/work/shared/data/loghub';
const work = mkdtempSync(path.join(os.tmpdir(), 'henrik-bench-'));

const NULL_SINK = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, {'content-type': 'application/json'}); res.end('{"data":{"accepted":0,"duplicates":0}}'); });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startNullSink(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', NULL_SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Copies of every loghub log with digits varied, until TARGET_MIB is reached. */
function generate(dir: string): { bytes: number; lines: number } {
  const sources = readdirSync(LOGHUB, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readFileSync(path.join(LOGHUB, d.name, `${d.name}_2k.log`), 'utf8'));
  // The live part takes its lines from here too.
  const perFile = Math.ceil((Math.max(TARGET_MIB, 10) * 1048576) / sources.length);
  let bytes = 0;
  let lines = 0;
  sources.forEach((text, i) => {
    const out = openSync(path.join(dir, `app${i}.log`), 'w');
    let written = 0;
    let round = 0;
    while (written < perFile) {
      round++;
      // Vary numbers that are not part of the timestamp: ids, ports, counters.
      const varied = text.replace(/(?<=[^\d:.\-/ ,])(\d{2,})/g, (m) => String((Number(m) + round) % 10 ** m.length).padStart(m.length, '0'));
      const buffer = Buffer.from(varied);
      writeSync(out, buffer);
      written += buffer.length;
      lines += varied.split('\n').length - 1;
    }
    closeSync(out);
    bytes += written;
  });
  return { bytes, lines };
}

function timeCat(dir: string): number {
  const files = readdirSync(dir).map((f) => path.join(dir, f));
  const start = process.hrtime.bigint();
  execFileSync('sh', ['-c', `cat ${files.map((f) => `'${f}'`).join(' ')} > /dev/null`]);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function backfill(
  dir: string,
  server: string,
): Promise<{ seconds: number; cpuSeconds: number; lines: number; maxRssMiB: number; batches: number; spoolSeconds: number }> {
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 50);
  const agent = await Agent.create({
    server,
    token: 'bench',
    host: 'bench',
    stateDir: path.join(work, 'state-backfill'),
    sources: [{ paths: [path.join(dir, '*.log')] }],
    once: true,
  });
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const code = await agent.once();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  if (code !== 0) throw new Error(`agent --once exited ${code}`);
  return {
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    lines: agent.stats.linesRead,
    maxRssMiB: maxRss / 1048576,
    batches: agent.stats.batches,
    spoolSeconds: agent.stats.spoolMs / 1000,
  };
}

/**
 * The built `henrik` binary tails one file that a separate process writes at 10 MiB/s;
 * its peak resident memory (VmHWM) is read from /proc at the end. Needs `npm run build`.
 */
async function live(dir: string, server: string): Promise<{ peakRssMiB: number; shippedMiB: number }> {
  const liveDir = path.join(work, 'live');
  execFileSync('mkdir', ['-p', liveDir]);
  const sample = readFileSync(path.join(dir, 'app0.log')).subarray(0, 1048576);
  const target = path.join(liveDir, 'live.log');
  createWriteStream(target).end();
  const henrik = spawn(process.execPath, [BIN, '--server', server, '--token', 'bench', '--state-dir', path.join(work, 'state-live'), path.join(liveDir, '*.log')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const writer = spawn(
    process.execPath,
    ['-e', `const fs=require('fs');const b=fs.readFileSync(0);const fd=fs.openSync(${JSON.stringify(target)},'a');let n=0;const t=setInterval(()=>{fs.writeSync(fd,b);if(++n>=${LIVE_SECONDS * 10}){clearInterval(t);}},100);`],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  writer.stdin?.end(sample.subarray(0, sample.lastIndexOf(10) + 1));
  await new Promise((resolve) => writer.on('exit', resolve));
  await new Promise((r) => setTimeout(r, 2000));
  const status = readFileSync(`/proc/${henrik.pid}/status`, 'utf8');
  const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  henrik.kill('SIGTERM');
  await new Promise((resolve) => henrik.on('exit', resolve));
  return { peakRssMiB: peakKiB / 1024, shippedMiB: statSync(target).size / 1048576 };
}

/**
 * Append -> arrival: a sink in this process notes when each line arrives; the built binary
 * tails a file that gets one line every 50 ms, each carrying the time it was appended.
 */
async function latency(): Promise<{ samples: number; p50Ms: number; p99Ms: number; maxMs: number; requests: number }> {
  const delays: number[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      requests++;
      const wire = Buffer.concat(chunks);
      const body = decompressBody(wire).toString('utf8');
      for (const m of body.matchAll(/LAT (\d+)/g)) delays.push(now - Number(m[1]));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":{"accepted":0,"duplicates":0}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = path.join(work, 'latency');
  execFileSync('mkdir', ['-p', dir]);
  const file = path.join(dir, 'app.log');
  appendFileSync(file, '2024-05-01T10:00:00Z first\n');
  const henrik = spawn(process.execPath, [BIN, '--server', url, '--token', 'bench', '--state-dir', path.join(work, 'state-latency'), path.join(dir, '*.log')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < LATENCY_SECONDS * 20; i++) {
    appendFileSync(file, `2024-05-01T10:00:00Z LAT ${Date.now()} line ${i}\n`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 2000));
  henrik.kill('SIGTERM');
  await new Promise((resolve) => henrik.on('exit', resolve));
  server.close();
  const sorted = [...delays].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { samples: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? NaN, requests };
}

async function main(): Promise<void> {
  const sink = await startNullSink();
  try {
    const data = path.join(work, 'data');
    execFileSync('mkdir', ['-p', data]);
    const { bytes, lines } = generate(data);
    const mib = bytes / 1048576;
    // The data just written is still being written back; the spool's first fdatasync would
    // wait for it (ext4 commits it with the journal) and the backfill would time the disk.
    execFileSync('sync');
    const catSeconds = timeCat(data);
    const result = TARGET_MIB > 0 ? await backfill(data, sink.url) : undefined;
    const liveResult = LIVE_SECONDS > 0 ? await live(data, sink.url) : undefined;
    const latencyResult = LATENCY_SECONDS > 0 ? await latency() : undefined;
    const report = {
      input: { mib: +mib.toFixed(1), lines, files: readdirSync(data).length },
      cat: { seconds: +catSeconds.toFixed(2), mibPerS: +(mib / catSeconds).toFixed(0) },
      henrikOnce: result && {
        seconds: +result.seconds.toFixed(2),
        cpuSeconds: +result.cpuSeconds.toFixed(2),
        mibPerWallS: +(mib / result.seconds).toFixed(1),
        mibPerCpuS: +(mib / result.cpuSeconds).toFixed(1),
        linesPerWallS: Math.round(result.lines / result.seconds),
        linesPerCpuS: Math.round(result.lines / result.cpuSeconds),
        benchProcessMaxRssMiB: +result.maxRssMiB.toFixed(0),
        batches: result.batches,
        spoolAppendSeconds: +result.spoolSeconds.toFixed(2),
      },
      live10MiBs: liveResult && { seconds: LIVE_SECONDS, shippedMiB: +liveResult.shippedMiB.toFixed(0), peakRssMiB: +liveResult.peakRssMiB.toFixed(0) },
      appendToArrival: latencyResult,
      targets: { mibPerS: 50, liveRssMiB: 80, latencyP99Ms: 1000 },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    sink.child.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
