/**
 * Alerts: what rules cost ingest, and how soon a matching line reaches a receiver.
 * - ingest lines/s through POST /ingest (the app in this process over a real SQLite store
 *   and alerts.db) with 0, 100 and 1,000 rules active, until every line is evaluated; the
 *   rule counts run in turns, rep after rep, so load from elsewhere hits each alike, and the
 *   best rep of each is kept. Beside wall time, lines per second of the process's CPU time
 *   (the cost of the rules as CPU, which a busy machine disturbs much less). The rules mix indexed literals, field terms, host-scoped phrases
 *   and regexes; some fire (a real HTTP receiver takes the notifications).
 * - append -> notification p50/p99 with 100 rules active and background ingest: a canary line
 *   each 50 ms, grouped by its number so each fires alone; from just before the POST to the
 *   webhook's arrival at the receiver.
 * `node --import tsx bench/run.ts --only alerts [--lines N]`, or alone:
 * `node --enable-experimental-regexp-engine --import tsx bench/alerts-bench.ts [--lines 50000] [--samples 200]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { openSqliteAlertStore } from '../../src/alerts/alert-store.js';
import { buildApp } from '../../src/server/app.js';
import { createTokenSet } from '../../src/server/tokens.js';
import { createStore } from '../../src/storage/create-store.js';
import type { BenchContext } from '../lib/context.js';
import { Prng } from '../lib/prng.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { percentile } from '../lib/stats.js';

const TOKEN = 'bench-admin-token-0123456789';
const RULE_COUNTS = [0, 100, 1000] as const;

interface Receiver {
  url: string;
  arrivals: Map<string, number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { group?: Record<string, string>; status?: string };
        if (body.status === 'firing' && body.group?.n !== undefined) arrivals.set(body.group.n, at);
      } catch {
        // not ours
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The rule mix: 70% indexed literals, 10% field terms, 10% host-scoped phrases, 10% regexes. */
export function benchRule(i: number, webhook: string): Record<string, unknown> {
  const kind = i % 10;
  const q =
    kind < 7 ? `needle${i} timeout` : kind === 7 ? `level:error service:svc-${i % 50}` : kind === 8 ? `"connection reset" host:web-${i % 5}` : `/fail(ed|ure) order-${i}/`;
  return { name: `bench-${i}`, q, condition: { kind: 'count', window: '5m', threshold: 50 }, notify: [{ webhook }] };
}

function lineOf(prng: Prng, n: number): string {
  const level = prng.nextU32() % 50 === 0 ? 'error' : 'info';
  const status = prng.nextU32() % 20 === 0 ? 503 : 200;
  return `2026-12-02T06:00:00.000Z api[${1000 + (n % 97)}]: level=${level} service=svc-${prng.nextU32() % 50} GET /api/items/${prng.nextU32() % 10_000} status=${status} took_ms=${prng.nextU32() % 300} user=u${prng.nextU32() % 1000}${status === 503 ? ' upstream failed' : ''}`;
}

interface Rig {
  app: FastifyInstance;
  offsets: Map<string, number>;
  close(): Promise<void>;
}

async function rig(rules: number, webhook: string): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'daniel-alerts-bench-'));
  const store = await createStore({ kind: 'sqlite', dataDir: dir });
  const alerts = await openSqliteAlertStore(join(dir, 'alerts'));
  const app = await buildApp({ store, tokens: createTokenSet([{ scope: 'admin', token: TOKEN }]), alerts: { store: alerts }, abuseLimits: { tokenRequestsPerSecond: 0, tokenBytesPerSecond: 0 } });
  for (let i = 0; i < rules; i++) {
    const response = await app.inject({ method: 'POST', url: '/alerts', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: JSON.stringify(benchRule(i, webhook)) });
    if (response.statusCode !== 201) throw new Error(`POST /alerts: ${response.body}`);
  }
  return {
    app,
    offsets: new Map(),
    async close() {
      await app.close();
      await alerts.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function ingest(r: Rig, host: string, lines: string[]): Promise<void> {
  let offset = r.offsets.get(host) ?? 0;
  const timestamp = String(BigInt(Date.now()) * 1_000_000n);
  const body = { host, files: [{ file_id: `bench-${host}`, filename: 'api.log', path: '/var/log/api.log', lines: lines.map((line) => {
    const item = { offset, timestamp, line };
    offset += Buffer.byteLength(line) + 1;
    return item;
  }) }] };
  r.offsets.set(host, offset);
  const response = await r.app.inject({ method: 'POST', url: '/ingest', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  if (response.statusCode !== 200) throw new Error(`ingest: ${response.statusCode} ${response.body.slice(0, 300)}`);
}

async function evaluated(r: Rig): Promise<number> {
  const text = (await r.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).body;
  return Number(/daniel_alert_lines_evaluated_total (\d+)/.exec(text)?.[1] ?? 0);
}

/**
 * Seconds to ingest `lines` (batches of `batch`) and evaluate them all, in wall time and in
 * this process's CPU time (everything runs in it: the app, the store, the evaluation), which
 * other load on the machine disturbs far less than wall time.
 */
async function timeIngest(r: Rig, rules: number, lines: string[], batch: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let at = 0; at < lines.length; at += batch) await ingest(r, `web-${(at / batch) % 5}`, lines.slice(at, at + batch));
  if (rules > 0) while ((await evaluated(r)) < lines.length) await new Promise((resolve) => setTimeout(resolve, 5));
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

export interface AlertFigures {
  linesPerSecond: Record<number, number>;
  /** Lines per second of this process's CPU time. */
  linesPerCpuSecond: Record<number, number>;
  latencyMs: { p50: number; p99: number; max: number; samples: number; missing: number };
}

export async function measureAlerts(options: { lines: number; batch: number; reps: number; samples: number; seed: number; log: (message: string) => void }): Promise<AlertFigures> {
  const receiver = await startReceiver();
  try {
    const prng = new Prng(options.seed);
    const lines = Array.from({ length: options.lines }, (_, n) => lineOf(prng, n));
    const best: Record<number, number> = {};
    const bestCpu: Record<number, number> = {};
    for (let rep = 0; rep < options.reps; rep++) {
      for (const rules of RULE_COUNTS) {
        const r = await rig(rules, receiver.url);
        try {
          const { seconds, cpuSeconds } = await timeIngest(r, rules, lines, options.batch);
          const rate = lines.length / seconds;
          const cpuRate = lines.length / cpuSeconds;
          best[rules] = Math.max(best[rules] ?? 0, rate);
          bestCpu[rules] = Math.max(bestCpu[rules] ?? 0, cpuRate);
          options.log(`alerts: rep ${rep + 1}, ${rules} rules: ${Math.round(rate)} lines/s, ${Math.round(cpuRate)} lines per CPU second`);
        } finally {
          await r.close();
        }
      }
    }

    // Latency with 100 rules and background ingest.
    const r = await rig(100, receiver.url);
    const sent = new Map<string, number>();
    try {
      const canary = await r.app.inject({
        method: 'POST',
        url: '/alerts',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'canary', q: 'canary', group_by: ['n'], condition: { kind: 'count', window: '1m' }, notify: [{ webhook: receiver.url }] }),
      });
      if (canary.statusCode !== 201) throw new Error(canary.body);
      let stop = false;
      let n = 0;
      const background = (async () => {
        while (!stop) {
          await ingest(r, 'web-bg', Array.from({ length: 200 }, () => lineOf(prng, n++)));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      for (let i = 0; i < options.samples; i++) {
        sent.set(String(i), performance.now());
        await ingest(r, 'canary-host', [`canary n=${i} probe`]);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const deadline = performance.now() + 10_000;
      while (receiver.arrivals.size < options.samples && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      stop = true;
      await background;
    } finally {
      await r.close();
    }
    const latencies = [...sent].flatMap(([n, at]) => {
      const arrived = receiver.arrivals.get(n);
      return arrived === undefined ? [] : [arrived - at];
    });
    return {
      linesPerSecond: best,
      linesPerCpuSecond: bestCpu,
      latencyMs: {
        p50: percentile(latencies, 0.5) ?? NaN,
        p99: percentile(latencies, 0.99) ?? NaN,
        max: Math.max(...latencies),
        samples: latencies.length,
        missing: options.samples - latencies.length,
      },
    };
  } finally {
    await receiver.close();
  }
}

export async function alertsWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('alerts', 'Alerts: ingest with rules active, append -> notification');
  const lines = Math.min(ctx.config.totalLines, ctx.config.quick ? 50_000 : 200_000);
  const figures = await measureAlerts({ lines, batch: 1000, reps: 3, samples: ctx.config.quick ? 100 : 300, seed: ctx.config.seed, log: ctx.log });
  report.command(`node --import tsx bench/run.ts --only alerts --lines ${ctx.config.totalLines}`);
  const base = figures.linesPerSecond[0];
  const cpuBase = figures.linesPerCpuSecond[0];
  for (const rules of RULE_COUNTS) {
    const rate = figures.linesPerSecond[rules];
    const cost = base === undefined || rate === undefined ? undefined : 1 - rate / base;
    const cpuRate = figures.linesPerCpuSecond[rules];
    const cpuCost = cpuBase === undefined || cpuRate === undefined ? undefined : 1 - cpuRate / cpuBase;
    const notes = [
      ...(rules > 0 && cost !== undefined ? [`${(cost * 100).toFixed(1)}% below 0 rules`] : []),
      ...(cpuRate === undefined ? [] : [`${Math.round(cpuRate).toLocaleString('en-US')} lines per CPU second${rules > 0 && cpuCost !== undefined ? `, ${(cpuCost * 100).toFixed(1)}% below 0 rules` : ''}`]),
    ];
    report.add({
      name: `ingest lines/s, ${rules} rules`,
      value: rate,
      unit: 'lines/s',
      ...(rules === 100 ? { target: { text: '100 rules cost <= 10% of ingest', pass: cost === undefined ? undefined : cost <= 0.1 } } : {}),
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    });
  }
  report.add({
    name: 'append -> notification (100 rules)',
    value: figures.latencyMs.p50,
    p99: figures.latencyMs.p99,
    unit: 'ms',
    target: { text: '<= 5 s p99', pass: Number.isFinite(figures.latencyMs.p99) ? figures.latencyMs.p99 <= 5000 && figures.latencyMs.missing === 0 : undefined },
    note: `${figures.latencyMs.samples} samples, ${figures.latencyMs.missing} missing, max ${Math.round(figures.latencyMs.max)} ms`,
  });
  report.note(`${lines} generated lines in 1,000-line POST /ingest requests, the app in the bench's process over SQLite; best of 3 reps per rule count, run in turns.`);
  return report.finish();
}
