/**
 * Henrik on container log files: the same real-format lines (loghub's formats, numbers
 * varied) as plain files, as CRI files (`<time> stdout F <text>`) and as Docker json-file
 * files (`{"log":"<text>\n","stream":"stdout","time":"..."}`), one line in a hundred split
 * into two partial pieces. Each set is read by `henrik --once` (in this process) into the
 * null sink (bench/lib/null-sink.ts, its own process); the figure is MiB of file read per
 * CPU-second of the agent, and the ratio of each container format to plain files. Runs
 * alternate (plain, CRI, Docker, twice) and the better of the two is kept per format, so a
 * busy machine hurts all three alike.
 *
 *   node --import tsx bench/containers-bench.ts [--mib 20]
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../src/agent/agent.js';

const LOGHUB = '/work/shared/data/loghub';
const NULL_SINK = fileURLToPath(new URL('./lib/null-sink.ts', import.meta.url));

export interface FormatFigures {
  format: 'plain' | 'cri' | 'docker';
  fileMiB: number;
  lines: number;
  cpuSeconds: number;
  mibPerCpuS: number;
  linesPerCpuS: number;
}

export interface ContainersResult {
  plain: FormatFigures;
  cri: FormatFigures;
  docker: FormatFigures;
  /** MiB/CPU-s of each container format over plain's. */
  criRatio: number;
  dockerRatio: number;
}

/** The loghub lines with digits varied, up to `mib` MiB of text. */
function sourceLines(mib: number): string[] {
  const texts = readdirSync(LOGHUB, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readFileSync(path.join(LOGHUB, d.name, `${d.name}_2k.log`), 'utf8').split('\n').filter((l) => l !== ''));
  const lines: string[] = [];
  let bytes = 0;
  for (let round = 1; bytes < mib * 1048576; round++) {
    for (const text of texts) {
      for (const line of text) {
        const varied = line.replace(/(?<=[^\d:.\-/ ,])(\d{2,})/g, (m) => String((Number(m) + round) % 10 ** m.length).padStart(m.length, '0'));
        lines.push(varied);
        bytes += varied.length + 1;
      }
    }
  }
  return lines;
}

/** Writes the lines in `format` into `files` files under `dir`; returns the bytes written. */
function writeFormat(dir: string, format: FormatFigures['format'], lines: string[], files: number): number {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  const per = Math.ceil(lines.length / files);
  const start = Date.UTC(2024, 4, 1, 10, 0, 0);
  for (let f = 0; f < files; f++) {
    const fd = openSync(path.join(dir, `${f}.log`), 'w');
    // A first line of its own: files that begin alike would be taken for copies of each other.
    const header = `bench file ${f}, ${format}, ${Date.now()}`;
    const parts: string[] = [format === 'plain' ? `${header}\n` : format === 'cri' ? `${new Date(start).toISOString()} stdout F ${header}\n` : `${JSON.stringify({ log: `${header}\n`, stream: 'stdout', time: new Date(start).toISOString() })}\n`];
    for (let i = f * per; i < Math.min(lines.length, (f + 1) * per); i++) {
      const line = lines[i] as string;
      const time = new Date(start + i).toISOString().replace('Z', '123456Z');
      const split = i % 100 === 0 && line.length > 10 ? [line.slice(0, 10), line.slice(10)] : [line];
      split.forEach((piece, k) => {
        const last = k === split.length - 1;
        if (format === 'plain') parts.push(last ? `${piece}\n` : piece);
        else if (format === 'cri') parts.push(`${time} stdout ${last ? 'F' : 'P'} ${piece}\n`);
        else parts.push(`${JSON.stringify({ log: last ? `${piece}\n` : piece, stream: 'stdout', time })}\n`);
      });
      if (parts.length >= 4096) {
        const chunk = Buffer.from(parts.join(''));
        writeSync(fd, chunk);
        bytes += chunk.length;
        parts.length = 0;
      }
    }
    const chunk = Buffer.from(parts.join(''));
    writeSync(fd, chunk);
    bytes += chunk.length;
    closeSync(fd);
  }
  return bytes;
}

async function startSink(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', NULL_SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`null sink exited ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      const m = /listening on (\S+)/.exec(d.toString());
      if (m) resolve(m[1] as string);
    });
  });
  return { url, stop: () => child.kill() };
}

async function readOnce(dir: string, state: string, server: string): Promise<{ cpuSeconds: number; lines: number }> {
  const agent = await Agent.create({
    server,
    token: 'bench',
    host: 'bench',
    stateDir: state,
    sources: [{ paths: [path.join(dir, '*.log')] }],
    once: true,
    log: process.env.BENCH_DEBUG === undefined ? undefined : (m) => process.stderr.write(`${m}\n`),
  });
  const cpu = process.cpuUsage();
  const code = await agent.once();
  const used = process.cpuUsage(cpu);
  if (code !== 0) throw new Error(`henrik --once exited ${code} on ${dir}`);
  return { cpuSeconds: (used.user + used.system) / 1e6, lines: agent.stats.linesRead };
}

export async function containersBench(mib: number, log: (m: string) => void = () => {}): Promise<ContainersResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'henrik-containers-bench-'));
  const sink = await startSink();
  try {
    const lines = sourceLines(mib);
    const formats = ['plain', 'cri', 'docker'] as const;
    const sizes = new Map(formats.map((f) => [f, writeFormat(path.join(work, f), f, lines, 8)]));
    log(`${lines.length} lines; ${formats.map((f) => `${f} ${((sizes.get(f) as number) / 1048576).toFixed(1)} MiB`).join(', ')}`);
    const best = new Map<string, { cpuSeconds: number; lines: number }>();
    for (let round = 0; round < 2; round++) {
      for (const f of formats) {
        const r = await readOnce(path.join(work, f), path.join(work, `state-${f}-${round}`), sink.url);
        log(`round ${round + 1} ${f}: ${r.cpuSeconds.toFixed(2)} CPU-s, ${r.lines} lines`);
        const before = best.get(f);
        if (before === undefined || r.cpuSeconds < before.cpuSeconds) best.set(f, r);
      }
    }
    const figures = (f: (typeof formats)[number]): FormatFigures => {
      const r = best.get(f) as { cpuSeconds: number; lines: number };
      const fileMiB = (sizes.get(f) as number) / 1048576;
      return { format: f, fileMiB: +fileMiB.toFixed(1), lines: r.lines, cpuSeconds: +r.cpuSeconds.toFixed(2), mibPerCpuS: +(fileMiB / r.cpuSeconds).toFixed(1), linesPerCpuS: Math.round(r.lines / r.cpuSeconds) };
    };
    const plain = figures('plain');
    const cri = figures('cri');
    const docker = figures('docker');
    return { plain, cri, docker, criRatio: +(cri.mibPerCpuS / plain.mibPerCpuS).toFixed(2), dockerRatio: +(docker.mibPerCpuS / plain.mibPerCpuS).toFixed(2) };
  } finally {
    sink.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--mib');
  const mib = at >= 0 ? Number(args[at + 1]) : 20;
  console.log(JSON.stringify(await containersBench(mib, (m) => process.stderr.write(`${m}\n`)), null, 2));
}
