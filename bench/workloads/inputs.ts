/**
 * Workload "inputs": acknowledged lines/s of the pushed inputs (Loki push as JSON and as
 * protobuf + snappy, OTLP/HTTP as protobuf and JSON, Elasticsearch bulk) beside `/ingest`, all
 * with 1,000-line requests into one Daniel on SQLite, the same senders and lines: 4 at once,
 * each its own host sending its requests in order, as Henrik does (requests of one file taken
 * out of order would make /ingest count lines as duplicates and store nothing for them). Bodies
 * are encoded before the clock starts, so the figures are Daniel's (decode, auth, store,
 * answer). Rounds alternate between the inputs and each keeps its best, which makes the
 * ratios robust to other load on a shared machine. Target: each input >= 0.5x `/ingest`.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import snappy from 'snappyjs';
import { ExportLogsServiceRequest } from '../../src/inputs/otlp/otlp.js';
import { PushRequestType } from '../../src/inputs/loki/loki.js';
import type { BenchContext } from '../lib/context.js';
import { workDir } from '../lib/paths.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { cpuSeconds } from '../lib/proc.js';
import { startDaniel, type Server } from '../lib/system.js';

export const LINES_PER_REQUEST = 1000;
const CONNECTIONS = 4;

interface Request {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

type Encoder = (host: string, round: number, index: number, lines: string[], times: bigint[]) => Request;

function sampleLines(count: number, seed: number): string[] {
  const paths = ['/api/orders', '/api/users', '/healthz', '/static/app.js', '/api/search'];
  const levels = ['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'DEBUG'];
  return Array.from({ length: count }, (_, i) => {
    const n = (i * 2654435761 + seed) >>> 0;
    return `${levels[n % levels.length]} request id=${n.toString(16)} method=GET path=${paths[n % paths.length]} status=${200 + (n % 5)} took=${n % 997}ms user=u${n % 131}`;
  });
}

const ENCODERS: Record<string, Encoder> = {
  '/ingest (Henrik wire format, JSON)': (host, round, index, lines, times) => ({
    path: '/ingest',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      host,
      files: [
        {
          file_id: `bench-${round}`,
          filename: 'app.log',
          lines: lines.map((line, i) => ({ offset: (index * LINES_PER_REQUEST + i) * 200, timestamp: String(times[i]), line })),
        },
      ],
    }),
  }),
  'Loki push, JSON': (host, _round, _index, lines, times) => ({
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ streams: [{ stream: { host, job: 'app', env: 'bench' }, values: lines.map((line, i) => [String(times[i]), line]) }] }),
  }),
  'Loki push, protobuf + snappy': (host, _round, _index, lines, times) => ({
    path: '/loki/api/v1/push',
    headers: { 'content-type': 'application/x-protobuf' },
    body: snappy.compress(
      PushRequestType.encode({
        streams: [
          {
            labels: `{host="${host}", job="app", env="bench"}`,
            entries: lines.map((line, i) => ({ timestamp: { seconds: Number(times[i]! / 1_000_000_000n), nanos: Number(times[i]! % 1_000_000_000n) }, line })),
          },
        ],
      }).finish(),
    ),
  }),
  'OTLP/HTTP, protobuf': (host, _round, _index, lines, times) => ({
    path: '/v1/logs',
    headers: { 'content-type': 'application/x-protobuf' },
    body: ExportLogsServiceRequest.encode(otlpRequest(host, lines, times, (t) => t.toString())).finish(),
  }),
  'OTLP/HTTP, JSON': (host, _round, _index, lines, times) => ({
    path: '/v1/logs',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(host, lines, times, (t) => t.toString())),
  }),
  'Elasticsearch bulk': (host, _round, _index, lines, times) => ({
    path: '/_bulk',
    headers: { 'content-type': 'application/x-ndjson' },
    body:
      lines
        .map((line, i) => `{"create":{"_index":"app"}}\n${JSON.stringify({ '@timestamp': new Date(Number(times[i]! / 1_000_000n)).toISOString(), message: line, host: { name: host } })}`)
        .join('\n') + '\n',
  }),
};

function otlpRequest(host: string, lines: string[], times: bigint[], time: (t: bigint) => string): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'host.name', value: { stringValue: host } }, { key: 'service.name', value: { stringValue: 'app' } }] },
        scopeLogs: [{ logRecords: lines.map((line, i) => ({ timeUnixNano: time(times[i]!), severityNumber: 9, body: { stringValue: line } })) }],
      },
    ],
  };
}

async function send(url: string, token: string, request: Request): Promise<void> {
  const response = await fetch(`${url}${request.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...request.headers },
    body: typeof request.body === 'string' ? request.body : Buffer.from(request.body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${request.path}: ${response.status} ${text.slice(0, 300)}`);
  if (request.path.endsWith('_bulk') && text.includes('"errors":true')) throw new Error(`${request.path}: some items failed: ${text.slice(0, 300)}`);
  if (request.path === '/ingest') {
    // Every line must be stored, as every pushed line is: lines taken for duplicates cost /ingest nothing.
    const { data } = JSON.parse(text) as { data: { accepted: number; duplicates: number; rejected?: unknown[] } };
    if (data.accepted !== LINES_PER_REQUEST || data.duplicates !== 0 || data.rejected !== undefined) {
      throw new Error(`/ingest stored ${data.accepted} of ${LINES_PER_REQUEST} lines (${data.duplicates} duplicates): ${text.slice(0, 300)}`);
    }
  }
}

/**
 * Sends each sender's requests in order, the CONNECTIONS senders at once; lines acknowledged per
 * second. A sender is one host, as a Henrik is: its requests to one file come one after the
 * other, so /ingest never takes a later request's lines before an earlier one's (which would
 * count the earlier lines as duplicates and store nothing).
 */
async function measure(url: string, token: string, senders: Request[][]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    senders.map(async (requests) => {
      for (const request of requests) await send(url, token, request);
    }),
  );
  const lines = senders.reduce((sum, requests) => sum + requests.length, 0) * LINES_PER_REQUEST;
  return lines / ((performance.now() - started) / 1000);
}

/**
 * One round's requests of one input: CONNECTIONS senders, each its own host, each sending
 * `requestsPerRound / CONNECTIONS` requests of the same LINES_PER_REQUEST lines with ascending times.
 */
function roundRequests(name: string, round: number, requestsPerRound: number, lines: string[]): Request[][] {
  const encode = ENCODERS[name]!;
  const input = Object.keys(ENCODERS).indexOf(name);
  const perSender = Math.ceil(requestsPerRound / CONNECTIONS);
  return Array.from({ length: CONNECTIONS }, (_, sender) =>
    Array.from({ length: perSender }, (_, index) => {
      const times = lines.map((_line, i) => BASE_TIME + BigInt(round * 1_000_000 + (sender * perSender + index) * LINES_PER_REQUEST + i) * 1_000_000n);
      return encode(`bench-${input}-${round}-${sender}`, round, index, lines, times);
    }),
  );
}

const BASE_TIME = 1_700_000_000_000_000_000n;

export async function inputsWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('inputs', 'Pushed inputs: acknowledged lines/s with 1,000-line requests, beside /ingest');
  const requestsPerRound = ctx.config.quick ? 20 : 100;
  const rounds = ctx.config.quick ? 3 : 5;
  report.command(
    `POST each input: ${requestsPerRound} requests of ${LINES_PER_REQUEST} lines per round from ${CONNECTIONS} concurrent fetch senders (one host each, its requests in order), ${rounds} rounds alternating, best of each`,
  );
  const dataDir = path.join(workDir, 'daniel-inputs');
  rmSync(dataDir, { recursive: true, force: true });
  const target = { text: '>= 0.5x /ingest', pass: undefined };
  let daniel: Server;
  try {
    daniel = await startDaniel({ dataDir, token: ctx.token });
  } catch (error) {
    report.add({ name: 'lines/s', unit: 'lines/s', notMeasured: `daniel serve did not start: ${(error as Error).message}`, target });
    return report.finish();
  }
  try {
    const lines = sampleLines(LINES_PER_REQUEST, ctx.config.seed);
    const best = new Map<string, number>();
    // Daniel's CPU seconds per line, the least of the rounds: on a loaded machine the ratios of
    // these say where the time goes better than wall-clock rates do.
    const cpuPerLine = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(ENCODERS)) {
        const senders = roundRequests(name, round, requestsPerRound, lines);
        const cpuBefore = cpuSeconds(daniel.proc.pid);
        const rate = await measure(daniel.url, ctx.token, senders);
        const cpuAfter = cpuSeconds(daniel.proc.pid);
        best.set(name, Math.max(best.get(name) ?? 0, rate));
        if (cpuBefore !== undefined && cpuAfter !== undefined) {
          const perLine = (cpuAfter - cpuBefore) / (senders.flat().length * LINES_PER_REQUEST);
          cpuPerLine.set(name, Math.min(cpuPerLine.get(name) ?? Infinity, perLine));
        }
        ctx.log(`  inputs round ${round + 1}/${rounds}: ${name} ${rate.toFixed(0)} lines/s`);
      }
    }
    const ingestName = Object.keys(ENCODERS)[0]!;
    const ingest = best.get(ingestName)!;
    for (const [name, rate] of best) {
      if (name === ingestName) {
        report.add({ name: `${name} lines/s`, value: rate, unit: 'lines/s' });
        continue;
      }
      report.add({
        name: `${name} lines/s`,
        value: rate,
        unit: 'lines/s',
        baselines: [{ name: '/ingest, same run', value: ingest, unit: 'lines/s', ratio: rate / ingest }],
        target: { text: target.text, pass: rate / ingest >= 0.5 },
      });
    }
    const ingestCpu = cpuPerLine.get(ingestName);
    if (ingestCpu !== undefined && cpuPerLine.size === best.size) {
      report.note(
        `Daniel CPU per line (least of the rounds, from /proc): ` +
          [...cpuPerLine]
            .map(([name, perLine]) => `${name} ${(perLine * 1e6).toFixed(1)} µs${name === ingestName ? '' : ` (${(ingestCpu / perLine).toFixed(2)}x /ingest by CPU)`}`)
            .join('; '),
      );
    }
  } catch (error) {
    report.note(`failed: ${(error as Error).message}`);
  } finally {
    await daniel.proc.stop(30_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report.finish();
}
