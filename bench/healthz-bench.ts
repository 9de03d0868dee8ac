/**
 * `GET /healthz` requests/s of `daniel serve` beside a bare node:http server answering the
 * same body (bench/lib/null-sink.ts), measured as the harness's HTTP workload does:
 * autocannon's programmatic API, 10 connections, runs alternating between the two servers,
 * best of each. Target (issue 6): Daniel at least 0.9x bare node:http.
 *
 *   node --import tsx bench/healthz-bench.ts [--seconds 5] [--rounds 2] [--connections 10]
 *       [--store sqlite] [--dist] [--profile] [--daniel-root DIR]
 *
 * Daniel runs from src/ through tsx (what the working tree says now); `--dist` runs the built
 * dist/bin/daniel.js instead, as the harness does. `--profile` runs Daniel under
 * `node --cpu-prof` and prints the top functions by self time (profiled figures are slower
 * and not comparable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface AutocannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number; pipelining: number }) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);

const SECONDS = Number(flag('seconds', '5'));
const ROUNDS = Number(flag('rounds', '2'));
const CONNECTIONS = Number(flag('connections', '10'));
const STORE = flag('store', 'sqlite');
const PROFILE = has('profile');
const DIST = has('dist');

interface Server {
  url: string;
  child: ChildProcess;
}

async function start(args: string[], env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!.replace(/\/+$/, ''));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${String(code)} before listening: ${out}`)));
  });
  return { url, child };
}

async function stop(server: Server): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return { code, ms: performance.now() - started };
}

/** utime + stime of a process in ms (/proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Requests/s, and the server's CPU µs per request: the second holds when other work shares the cores. */
async function blast(server: Server): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const cpuBefore = cpuMs(server.child.pid!);
  const result = await autocannon({ url: `${server.url}/healthz`, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 });
  const cpu = cpuMs(server.child.pid!) - cpuBefore;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const requests = result.requests.average * SECONDS;
  return { rps: result.requests.average, cpuUsPerRequest: (cpu * 1000) / requests };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

function topSelfTime(dir: string, top = 25): string[] {
  const selfMs = new Map<string, number>();
  let totalMs = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node || node.callFrame.functionName === '(idle)') return;
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url.replace(/^file:\/\//, '').replace(`${root}/`, '').replace(/^.*node_modules\//, '');
      const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
      totalMs += ms;
    });
  }
  return [...selfMs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, ms]) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'healthz-bench-'));
const profileDir = path.join(dataDir, 'profile');
const nodeArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
// `--daniel-root DIR`: another checkout's src/ (e.g. `git archive HEAD` unpacked), for before/after figures.
const danielRoot = path.resolve(flag('daniel-root', root));
const danielEntry = DIST ? [path.join(danielRoot, 'dist', 'bin', 'daniel.js')] : ['--import', 'tsx', path.join(danielRoot, 'src', 'bin', 'daniel.ts')];
const daniel = await start([...nodeArgs, '--enable-experimental-regexp-engine', ...danielEntry, 'serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dataDir, 'data'), '--store', STORE], {
  DANIEL_TOKENS: 'admin:healthz-bench-token',
});
const bare = await start(['--import', 'tsx', path.join(root, 'bench', 'lib', 'null-sink.ts')]);
try {
  const best = { daniel: 0, bare: 0, danielCpu: Infinity, bareCpu: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const b = await blast(bare);
    const d = await blast(daniel);
    process.stdout.write(
      `round ${round + 1}: bare ${Math.round(b.rps)} req/s (${b.cpuUsPerRequest.toFixed(1)} CPU µs/req), ` +
        `daniel ${Math.round(d.rps)} req/s (${d.cpuUsPerRequest.toFixed(1)} CPU µs/req)\n`,
    );
    best.bare = Math.max(best.bare, b.rps);
    best.daniel = Math.max(best.daniel, d.rps);
    best.bareCpu = Math.min(best.bareCpu, b.cpuUsPerRequest);
    best.danielCpu = Math.min(best.danielCpu, d.cpuUsPerRequest);
  }
  process.stdout.write(
    `best of ${ROUNDS} x ${SECONDS} s, ${CONNECTIONS} connections (${DIST ? 'dist' : 'src via tsx'} of ${danielRoot}, ${STORE} store${PROFILE ? ', PROFILED' : ''}):\n` +
      `  daniel ${Math.round(best.daniel)} req/s, bare node:http ${Math.round(best.bare)} req/s, ratio ${(best.daniel / best.bare).toFixed(2)}x (target >= 0.9x)\n` +
      `  server CPU per request: daniel ${best.danielCpu.toFixed(1)} µs, bare ${best.bareCpu.toFixed(1)} µs, ` +
      `bare/daniel ${(best.bareCpu / best.danielCpu).toFixed(2)}x (the req/s a core allows, relative)\n`,
  );
} finally {
  await stop(bare);
  const stopped = await stop(daniel);
  process.stdout.write(`daniel exited ${String(stopped.code)} ${Math.round(stopped.ms)} ms after SIGTERM (autocannon's sockets closed)\n`);
  if (PROFILE) process.stdout.write(`daniel's top self time:\n${topSelfTime(profileDir).join('\n')}\n`);
  rmSync(dataDir, { recursive: true, force: true });
}
