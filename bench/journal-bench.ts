/**
 * Henrik's journald input: a journal of N entries written by systemd-journal-remote (five
 * units, varied priorities and texts), then
 * - `journalctl --directory DIR -o export > /dev/null`: the reader's own cost, the baseline;
 * - `henrik --once --journal-dir DIR` (the one-file build, dist/standalone/henrik.mjs) into
 *   a null HTTP sink (its own process): entries per second of wall time and per CPU-second
 *   (Henrik and its journalctl together, as `times` in the shell that waited for them counts);
 * - the idle resident memory of the one-file Henrik watching 100 files and that journal
 *   (caught up, following), its journalctl's beside it.
 *
 *   npm run build && node --import tsx bench/journal-bench.ts [--entries 1000000] [--idle-seconds 10] [--json]
 * Generated data lives in os.tmpdir() and is removed afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const STANDALONE = fileURLToPath(new URL('../dist/standalone/henrik.mjs', import.meta.url));

export interface JournalBenchResult {
  entries: number;
  journalBytes: number;
  journalctl: { seconds: number; cpuSeconds: number };
  henrik: { seconds: number; cpuSeconds: number; shipped: number };
  idle: { henrikRssMiB: number; journalctlRssMiB: number; files: number };
}

/** Why the bench cannot run here, or undefined. */
export function journalBenchMissing(): string | undefined {
  if (!existsSync(JOURNAL_REMOTE)) return `${JOURNAL_REMOTE} is missing (apt install systemd-journal-remote)`;
  if (spawnSync('journalctl', ['--version']).status !== 0) return 'journalctl is missing (apt install systemd)';
  if (!existsSync(STANDALONE)) return `${STANDALONE} is missing: run npm run build`;
  return undefined;
}

const NULL_SINK = `
const http = require('node:http');
let lines = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/stats') { res.end(JSON.stringify({ lines })); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      const zlib = require('node:zlib');
      const raw = Buffer.concat(chunks);
      const encoding = req.headers['content-encoding'];
      const body = encoding === 'zstd' ? require('zstd-napi').decompress(raw) : encoding === 'br' ? zlib.brotliDecompressSync(raw) : zlib.gunzipSync(raw);
      for (let at = body.indexOf('"offset":'); at !== -1; at = body.indexOf('"offset":', at + 9)) lines++;
    } catch {}
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":{"accepted":0,"duplicates":0}}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startNullSink(): Promise<{ url: string; child: ChildProcess }> {
  // From the repository's root: its require of zstd-napi (what the in-place one-file Henrik sends, the addon being found beside it) resolves there.
  const child = spawn(process.execPath, ['-e', NULL_SINK], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('..', import.meta.url)) });
  const port = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, child };
}

const UNITS = ['nginx.service', 'postgresql.service', 'cron.service', 'sshd.service', 'app.service'];
const WORDS = ['request', 'served', 'connection', 'accepted', 'from', 'user', 'session', 'opened', 'closed', 'query', 'took', 'ms', 'cache', 'miss', 'retry'];

/** Writes `entries` entries with journal-remote (rotating as journald would when a file fills). */
async function writeJournal(dir: string, entries: number): Promise<void> {
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');
  const writer = spawn(JOURNAL_REMOTE, ['-o', path.join(dir, 'system.journal'), '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  writer.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => writer.on('exit', resolve));
  const start = Date.now() * 1000;
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < entries; ) {
    const parts: string[] = [];
    for (let k = 0; k < 2000 && i < entries; k++, i++) {
      const unit = UNITS[next() % UNITS.length] as string;
      const words = Array.from({ length: 6 + (next() % 10) }, () => WORDS[next() % WORDS.length]).join(' ');
      parts.push(
        `__REALTIME_TIMESTAMP=${start + i}\n__MONOTONIC_TIMESTAMP=${1_000_000 + i}\n_BOOT_ID=${boot}\n_SYSTEMD_UNIT=${unit}\nSYSLOG_IDENTIFIER=${unit.split('.')[0]}\n_PID=${1000 + (next() % 50)}\nPRIORITY=${next() % 8}\nMESSAGE=${words} id=${next()} n=${i}\n\n`,
      );
    }
    if (!writer.stdin.write(parts.join(''))) await new Promise((r) => writer.stdin.once('drain', r));
  }
  writer.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`systemd-journal-remote exited ${String(code)}: ${stderr.slice(-500)}`);
}

/** Runs `command` in bash and reads back wall time and the CPU time of everything it waited for. */
function timed(command: string, env: NodeJS.ProcessEnv = process.env): { seconds: number; cpuSeconds: number; output: string } {
  const started = performance.now();
  const run = spawnSync('bash', ['-c', `${command}\ntimes`], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${command} failed (${String(run.status)}): ${run.stderr.slice(-1000)}`);
  const lines = run.stdout.trim().split('\n');
  const children = (lines.at(-1) ?? '').trim().split(/\s+/);
  const secondsOf = (t: string | undefined): number => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t ?? '');
    return m === null ? NaN : Number(m[1]) * 60 + Number(m[2]);
  };
  return { seconds, cpuSeconds: secondsOf(children[0]) + secondsOf(children[1]), output: run.stderr };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export async function journalBench(entries: number, idleSeconds: number, log: (m: string) => void = () => {}): Promise<JournalBenchResult> {
  const missing = journalBenchMissing();
  if (missing !== undefined) throw new Error(missing);
  const work = mkdtempSync(path.join(os.tmpdir(), 'henrik-journal-bench-'));
  const journal = path.join(work, 'journal');
  mkdirSync(journal);
  const sink = await startNullSink();
  try {
    log(`writing a journal of ${entries} entries with systemd-journal-remote`);
    await writeJournal(journal, entries);
    const journalBytes = Number(spawnSync('du', ['-sb', journal], { encoding: 'utf8' }).stdout.split(/\s/)[0]);
    // Warm the page cache, then the baseline.
    timed(`journalctl --directory ${shellQuote(journal)} -o export > /dev/null`);
    const journalctl = timed(`journalctl --directory ${shellQuote(journal)} -o export > /dev/null`);
    log(`journalctl -o export: ${journalctl.seconds.toFixed(2)} s, ${journalctl.cpuSeconds.toFixed(2)} CPU-s`);
    const state = path.join(work, 'state');
    const henrikRun = timed(
      `${shellQuote(process.execPath)} ${shellQuote(STANDALONE)} --once --journal-dir ${shellQuote(journal)} --server ${sink.url} --state-dir ${shellQuote(state)} --host bench`,
      { ...process.env, HENRIK_TOKEN: 'bench' },
    );
    const stats = (await (await fetch(`${sink.url}/stats`)).json()) as { lines: number };
    log(`henrik --once --journal-dir: ${henrikRun.seconds.toFixed(2)} s, ${henrikRun.cpuSeconds.toFixed(2)} CPU-s, ${stats.lines} entries shipped`);

    // Idle: 100 files and the journal (already shipped: the checkpoint is at its end).
    const logs = path.join(work, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < 100; i++) writeFileSync(path.join(logs, `svc-${i}.log`), `2026-12-01T10:00:00Z file ${i} started\n`);
    const idle = spawn(process.execPath, [STANDALONE, '--journal-dir', journal, '--server', sink.url, '--state-dir', state, '--host', 'bench', path.join(logs, '*.log')], {
      env: { ...process.env, HENRIK_TOKEN: 'bench' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let henrikRssMiB = 0;
    let journalctlRssMiB = 0;
    try {
      await new Promise((r) => setTimeout(r, 5000));
      for (let s = 0; s < idleSeconds; s++) {
        await new Promise((r) => setTimeout(r, 1000));
        henrikRssMiB = Math.max(henrikRssMiB, rssMiB(idle.pid as number));
        for (const pid of childPids(idle.pid as number)) journalctlRssMiB = Math.max(journalctlRssMiB, rssMiB(pid));
      }
    } finally {
      idle.kill('SIGTERM');
      await new Promise((r) => idle.once('exit', r));
    }
    return {
      entries,
      journalBytes,
      journalctl: { seconds: journalctl.seconds, cpuSeconds: journalctl.cpuSeconds },
      henrik: { seconds: henrikRun.seconds, cpuSeconds: henrikRun.cpuSeconds, shipped: stats.lines },
      idle: { henrikRssMiB, journalctlRssMiB, files: 100 },
    };
  } finally {
    sink.child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const r = await journalBench(arg('entries', 1_000_000), arg('idle-seconds', 10), (m) => process.stderr.write(`${m}\n`));
  if (args.includes('--json')) console.log(JSON.stringify(r));
  else {
    const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString('en-US')}`;
    console.log(`journal: ${r.entries} entries, ${(r.journalBytes / 1048576).toFixed(0)} MiB on disk`);
    console.log(`journalctl -o export > /dev/null:  ${rate(r.entries, r.journalctl.seconds)} entries/s, ${rate(r.entries, r.journalctl.cpuSeconds)} per CPU-second`);
    console.log(`henrik --once --journal-dir:       ${rate(r.henrik.shipped, r.henrik.seconds)} entries/s, ${rate(r.henrik.shipped, r.henrik.cpuSeconds)} per CPU-second (${r.henrik.shipped} shipped)`);
    console.log(`ratio (wall, CPU):                 ${(r.journalctl.seconds / r.henrik.seconds).toFixed(2)}x, ${(r.journalctl.cpuSeconds / r.henrik.cpuSeconds).toFixed(2)}x`);
    console.log(`idle RSS, 100 files + the journal:  henrik ${r.idle.henrikRssMiB.toFixed(1)} MiB, its journalctl ${r.idle.journalctlRssMiB.toFixed(1)} MiB`);
  }
}
