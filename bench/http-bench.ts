/**
 * Ingest through HTTP: `daniel serve` (its own process, the sqlite store) takes 1,000-line
 * batches of syslog-like lines from this process, JSON and gzip, a few requests in flight.
 * Reports lines/s per encoding (target: at least 100k lines/s).
 *
 *   node --import tsx bench/http-bench.ts [--batches 200] [--concurrency 4] [--store sqlite]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const BATCHES = Number(flag('batches', '200'));
const CONCURRENCY = Number(flag('concurrency', '4'));
const STORE = flag('store', 'sqlite');
const LINES_PER_BATCH = 1000;
const bin = fileURLToPath(new URL('../src/bin/daniel.ts', import.meta.url));

const PROGRAMS = ['sshd[2231]', 'CRON[1182]', 'kernel', 'systemd[1]', 'nginx[880]'];
function syslogLine(i: number): string {
  const second = String(i % 60).padStart(2, '0');
  const program = PROGRAMS[i % PROGRAMS.length] as string;
  return `Dec 14 07:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${second} benchhost ${program}: Accepted publickey for user${i % 97} from 10.0.${i % 256}.${(i * 7) % 256} port ${40000 + (i % 20000)} ssh2: RSA SHA256:${(i * 2654435761 % 2 ** 32).toString(16)}`;
}

function buildBodies(prefix: string): { bodies: string[]; bytes: number } {
  const bodies: string[] = [];
  let bytes = 0;
  const base = 1_639_468_790_000_000_000n;
  for (let b = 0; b < BATCHES; b += 1) {
    let offset = 0;
    const lines = [];
    for (let i = 0; i < LINES_PER_BATCH; i += 1) {
      const line = syslogLine(b * LINES_PER_BATCH + i);
      const end = offset + Buffer.byteLength(line) + 1;
      lines.push({ offset, end, timestamp: String(base + BigInt(b * LINES_PER_BATCH + i) * 1_000_000n), line });
      offset = end;
      bytes += line.length;
    }
    bodies.push(JSON.stringify({ host: `bench-${prefix}`, files: [{ file_id: `${prefix}-${b}`, filename: 'syslog', path: '/var/log/syslog', lines }] }));
  }
  return { bodies, bytes };
}

async function startServer(dataDir: string): Promise<{ url: string; token: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--enable-experimental-regexp-engine', '--import', 'tsx', bin, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', STORE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`daniel exited ${code}: ${out}`)));
  });
  const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
  return {
    url,
    token,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function send(url: string, token: string, bodies: (string | Buffer)[], gzip: boolean): Promise<number> {
  let next = 0;
  let accepted = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as string | Buffer;
      const response = await fetch(`${url}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
        body: typeof body === 'string' ? body : new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength),
      });
      const answer = (await response.json()) as { data?: { accepted: number } };
      if (response.status !== 200 || !answer.data) throw new Error(`ingest answered ${response.status}: ${JSON.stringify(answer)}`);
      accepted += answer.data.accepted;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return accepted;
}

const dataDir = await mkdtemp(join(tmpdir(), 'daniel-http-bench-'));
const server = await startServer(dataDir);
try {
  // Warm-up: JIT, SQLite pages, connections.
  const warm = buildBodies('warm');
  await send(server.url, server.token, warm.bodies.slice(0, 10), false);
  for (const gzip of [false, true]) {
    const { bodies, bytes } = buildBodies(gzip ? 'gzip' : 'json');
    const payloads = gzip ? bodies.map((body) => gzipSync(body)) : bodies;
    const started = performance.now();
    const accepted = await send(server.url, server.token, payloads, gzip);
    const seconds = (performance.now() - started) / 1000;
    const lines = BATCHES * LINES_PER_BATCH;
    if (accepted !== lines) throw new Error(`accepted ${accepted} of ${lines}`);
    process.stdout.write(
      `${gzip ? 'gzip' : 'json'}: ${lines} lines (${(bytes / 1e6).toFixed(1)} MB of text) in ${seconds.toFixed(2)} s = ${Math.round(lines / seconds).toLocaleString('en')} lines/s ` +
        `(${BATCHES} batches of ${LINES_PER_BATCH}, ${CONCURRENCY} in flight, store ${STORE})\n`,
    );
  }
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
