/**
 * Henrik with many files under one glob, shipping to a real Daniel (`daniel serve` from the
 * sources, SQLite, in its own process): N files of three lines each are created, then an
 * agent (in this process) is started on `DIR/*.log`. Reports
 * - seconds until the first line is stored, and until every file's lines are (the first
 *   line of the last file acknowledged), read back through `GET /hosts/`;
 * - the agent's CPU (user + system of every thread, as % of one core) while it watches the
 *   N idle files, over a window as long as the safety-net walk's interval (30 s): whatever
 *   its phase, the window holds one walk's work, as the long-run average does;
 * - the agent process's open file descriptors, at most during the run and when idle.
 *
 *   node --import tsx bench/many-files-bench.ts [--files 10000] [--idle-seconds 30] [--json]
 *     [--cpu-prof FILE]
 * --cpu-prof writes a CPU profile of the idle window (for Chrome DevTools); BENCH_DEBUG=1
 * prints progress and the CPU of each idle second.
 * Generated data lives in os.tmpdir() and is removed afterwards.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from '../src/agent/agent.js';
import { serveDaniel } from '../test/lib/processes.js';

export interface ManyFilesResult {
  files: number;
  firstLineSeconds: number;
  allFilesSeconds: number;
  idleCpuPercent: number;
  maxOpenFds: number;
  idleOpenFds: number;
  baselineFds: number;
}

const TOKEN = 'many-files-bench-token-0123456789';

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function storedLines(url: string, host: string): Promise<number> {
  try {
    const res = await fetch(`${url}/hosts/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (!res.ok) return 0;
    const body = (await res.json()) as { data: Array<{ host: string; lines: number }> };
    return body.data.find((h) => h.host === host)?.lines ?? 0;
  } catch {
    return 0;
  }
}

export async function manyFilesBench(files: number, idleSeconds: number, profileTo?: string): Promise<ManyFilesResult> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'henrik-many-files-'));
  const logs = path.join(work, 'logs');
  mkdirSync(logs);
  for (let i = 0; i < files; i++) {
    const name = `svc-${String(i).padStart(6, '0')}.log`;
    writeFileSync(path.join(logs, name), [0, 1, 2].map((n) => `2026-12-01T10:00:0${n}Z file ${i} line ${n} some text of a service log`).join('\n') + '\n');
  }
  // The shared fixture: Daniel from src/ through tsx, with the regex engine flag it needs.
  const daniel = await serveDaniel({ dataDir: path.join(work, 'data'), env: { DANIEL_TOKENS: `admin:${TOKEN}` } });
  const baselineFds = openFds();
  let maxOpenFds = baselineFds;
  const host = 'many';
  const agent = await Agent.create({
    server: daniel.url,
    token: TOKEN,
    host,
    stateDir: path.join(work, 'state'),
    sources: [{ paths: [path.join(logs, '*.log')] }],
  });
  try {
    const started = performance.now();
    agent.start();
    let firstLineSeconds = NaN;
    let allFilesSeconds = NaN;
    for (;;) {
      maxOpenFds = Math.max(maxOpenFds, openFds());
      const lines = await storedLines(daniel.url, host);
      const elapsed = (performance.now() - started) / 1000;
      if (lines > 0 && Number.isNaN(firstLineSeconds)) firstLineSeconds = elapsed;
      if (lines >= files * 3) {
        allFilesSeconds = elapsed;
        break;
      }
      if (process.env.BENCH_DEBUG) console.log(`${elapsed.toFixed(1)} s: ${lines} lines stored, ${openFds()} descriptors`);
      if (elapsed > 900) throw new Error(`only ${lines} of ${files * 3} lines after 900 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // Settle: every batch acknowledged (Daniel stores a batch before it answers), then 3 s
    // for the checkpoint save that follows (1 s) and the walk a new watch asks for (next
    // scan, 1 s). The idle window then holds none of the first scan's work.
    for (let waited = 0; agent.unacknowledgedBatches > 0 && waited < 300; waited++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000));
    const session = profileTo === undefined ? undefined : new inspector.Session();
    if (session !== undefined) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let last = cpu;
    for (let s = 0; s < idleSeconds; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      maxOpenFds = Math.max(maxOpenFds, openFds());
      if (process.env.BENCH_DEBUG) {
        const now = process.cpuUsage();
        console.log(`idle ${s + 1} s: ${((now.user + now.system - last.user - last.system) / 1000).toFixed(1)} ms CPU`);
        last = now;
      }
    }
    const used = process.cpuUsage(cpu);
    if (session !== undefined && profileTo !== undefined) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileTo, JSON.stringify(profile));
      session.disconnect();
    }
    const idleCpuPercent = ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100;
    const idleOpenFds = openFds();
    return { files, firstLineSeconds, allFilesSeconds, idleCpuPercent, maxOpenFds, idleOpenFds, baselineFds };
  } finally {
    await agent.stop();
    await daniel.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const profileAt = args.indexOf('--cpu-prof');
  const result = await manyFilesBench(arg('files', 10_000), arg('idle-seconds', 30), profileAt >= 0 ? args[profileAt + 1] : undefined);
  if (args.includes('--json')) console.log(JSON.stringify(result));
  else {
    console.log(`files under one glob:                 ${result.files}`);
    console.log(`first line stored after:              ${result.firstLineSeconds.toFixed(1)} s`);
    console.log(`every file's lines stored after:      ${result.allFilesSeconds.toFixed(1)} s`);
    console.log(`agent CPU while watching idle files:  ${result.idleCpuPercent.toFixed(1)} % of a core`);
    console.log(`open descriptors (process): max ${result.maxOpenFds}, idle ${result.idleOpenFds}, before the agent ${result.baselineFds}`);
  }
}
