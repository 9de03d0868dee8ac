/**
 * Workload "load": Daniel's composure under read load, through a real `daniel serve`.
 *
 * 1. /healthz and /ingest p99 while 8 worst-case searches run: a store of `loadLines` lines
 *    (ingested over HTTP), then the same probe (one /healthz, then one 100-line /ingest, in a
 *    loop) first with nothing else running (the baseline) and then while 8 clients keep a
 *    search running each: a regex with no literal of 3 characters, so no bloom skips a
 *    segment and every line is tested, and no match, so the search scans the whole store
 *    (timeout=30s). Targets: health p99 <= 50 ms; ingest p99 <= 2x its p99 without them.
 * 2. Resident memory with 256 live tails that never read, while 100k lines are ingested:
 *    Daniel's RSS before the tails connect against its peak (VmHWM) during the ingest.
 *    Target: <= +300 MiB.
 */
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import type { BenchContext } from '../lib/context.js';
import { workDir } from '../lib/paths.js';
import { statusBytes } from '../lib/proc.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { MiB, percentile } from '../lib/stats.js';
import { startDaniel, type Server } from '../lib/system.js';

/** A regex with no literal of 3 characters: every line of every segment is tested. */
const SLOW_REGEX = '[a-z]+[0-9]+[a-z]+[0-9]+[#]';
const SEARCHERS = 8;
const TAILS = 256;
const TAIL_INGEST_LINES = 100_000;
const BATCH_LINES = 1000;
const PROBE_LINES = 100;

interface Offsets {
  next: Map<string, number>;
}

function batch(offsets: Offsets, host: string, file: string, lines: number, serial: number): string {
  const key = `${host}/${file}`;
  let offset = offsets.next.get(key) ?? 0;
  const now = BigInt(Date.now()) * 1_000_000n;
  const out = [];
  for (let i = 0; i < lines; i++) {
    const n = serial * lines + i;
    const line = `2026-12-02T03:00:00Z INFO worker-${n % 97} handled request id=${n} path=/api/items/${n % 1013} status=200 bytes=${(n * 7919) % 65536} in ${(n % 500) / 10}ms`;
    out.push({ offset, timestamp: String(now + BigInt(i)), line });
    offset += Buffer.byteLength(line) + 1;
  }
  offsets.next.set(key, offset);
  return JSON.stringify({ host, files: [{ file_id: `${host}-${file}`, filename: file, path: `/var/log/${file}`, lines: out }] });
}

function call(url: string, token: string, method: string, pathname: string, body?: string, timeoutMs = 120_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${url}${pathname}`,
      {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) },
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${pathname}: no answer in ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

async function ingest(server: Server, token: string, body: string): Promise<void> {
  const answer = await call(server.url, token, 'POST', '/ingest', body);
  if (answer.status !== 200) throw new Error(`/ingest answered ${answer.status}: ${answer.text.slice(0, 300)}`);
}

interface Probe {
  health: number[];
  ingest: number[];
}

/** /healthz every 10 ms and a small /ingest every 50 ms, each in its own loop, for `ms`. */
async function probe(server: Server, token: string, offsets: Offsets, ms: number, serialStart: number): Promise<Probe> {
  const result: Probe = { health: [], ingest: [] };
  const end = performance.now() + ms;
  let serial = serialStart;
  const healthLoop = async (): Promise<void> => {
    while (performance.now() < end) {
      const started = performance.now();
      const health = await call(server.url, token, 'GET', '/healthz');
      if (health.status !== 200) throw new Error(`/healthz answered ${health.status}: ${health.text.slice(0, 300)}`);
      result.health.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const ingestLoop = async (): Promise<void> => {
    while (performance.now() < end) {
      const body = batch(offsets, 'probe', 'probe.log', PROBE_LINES, serial++);
      const started = performance.now();
      await ingest(server, token, body);
      result.ingest.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await Promise.all([healthLoop(), ingestLoop()]);
  return result;
}

/** A live tail that never reads: the socket is paused as soon as it connects. */
function idleTail(server: Server, token: string): Promise<Socket> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.write(`GET /logs?follow=true HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\n\r\n`);
      socket.once('data', () => {
        socket.pause();
        resolve(socket);
      });
    });
    socket.on('error', reject);
  });
}

export async function loadWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('load', 'Under load: health and ingest beside slow searches; memory of idle live tails');
  const loadLines = ctx.config.quick ? 300_000 : 1_000_000;
  const probeMs = ctx.config.quick ? 8_000 : 20_000;
  const dataDir = path.join(workDir, 'daniel-load');
  rmSync(dataDir, { recursive: true, force: true });
  report.command(`node --import tsx bench/run.ts ${ctx.config.quick ? '--quick ' : ''}--only load`);
  let daniel: Server;
  try {
    daniel = await startDaniel({ dataDir, token: ctx.token, profileName: 'daniel-load' });
  } catch (error) {
    return report.finish(`daniel serve did not start: ${(error as Error).message}`);
  }
  const token = ctx.token;
  const offsets: Offsets = { next: new Map() };
  try {
    ctx.log(`load: ingesting ${loadLines} lines`);
    for (let serial = 0; serial * BATCH_LINES < loadLines; serial++) {
      await ingest(daniel, token, batch(offsets, 'web-1', `app-${serial % 4}.log`, BATCH_LINES, serial));
    }

    ctx.log('load: probe without searches');
    const quiet = await probe(daniel, token, offsets, probeMs, 1_000_000);

    ctx.log(`load: probe with ${SEARCHERS} slow searches`);
    let searching = true;
    let searchesDone = 0;
    let refused = 0;
    const searchTimes: number[] = [];
    // Every search a regex of its own (the same lines match): Daniel keeps the segments a query
    // has cut down to its matches, and a search repeated would be answered mostly from those.
    let searchNumber = 0;
    const searchers = Array.from({ length: SEARCHERS }, async () => {
      while (searching) {
        const started = performance.now();
        const regex = `${SLOW_REGEX}{1,${++searchNumber}}`;
        const answer = await call(daniel.url, token, 'GET', `/logs?regex=${encodeURIComponent(regex)}&timeout=30s&count=100`);
        if (answer.status === 429) refused++;
        else if (answer.status !== 200) throw new Error(`search answered ${answer.status}: ${answer.text.slice(0, 300)}`);
        else {
          searchesDone++;
          searchTimes.push(performance.now() - started);
        }
      }
    });
    // Let every search get going before probing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const busy = await probe(daniel, token, offsets, probeMs, 2_000_000);
    searching = false;
    await Promise.all(searchers);

    const p99 = (values: number[]): number | undefined => percentile(values, 0.99);
    const healthP99 = p99(busy.health);
    const quietIngestP99 = p99(quiet.ingest);
    const busyIngestP99 = p99(busy.ingest);
    const searchNote = `${searchesDone} searches answered (median ${(percentile(searchTimes, 0.5) ?? 0).toFixed(0)} ms each), ${refused} refused 429; regex=${SLOW_REGEX}{1,n}, n counting up so no two searches are the same query, over ${loadLines} lines`;
    report.add({
      name: `/healthz latency with ${SEARCHERS} slow searches`,
      value: percentile(busy.health, 0.5),
      p99: healthP99,
      unit: 'ms',
      baselines: [{ name: '/healthz p99 without searches', value: p99(quiet.health), unit: 'ms' }],
      target: { text: 'p99 <= 50 ms', pass: healthP99 === undefined ? undefined : healthP99 <= 50 },
      note: `${busy.health.length} probes; ${searchNote}`,
    });
    report.add({
      name: `/ingest latency (${PROBE_LINES} lines) with ${SEARCHERS} slow searches`,
      value: percentile(busy.ingest, 0.5),
      p99: busyIngestP99,
      unit: 'ms',
      baselines: [
        {
          name: '/ingest p99 without searches',
          value: quietIngestP99,
          unit: 'ms',
          ...(quietIngestP99 !== undefined && busyIngestP99 !== undefined ? { ratio: quietIngestP99 / busyIngestP99 } : {}),
        },
      ],
      target: {
        text: 'p99 <= 2x p99 without searches',
        pass: quietIngestP99 === undefined || busyIngestP99 === undefined ? undefined : busyIngestP99 <= 2 * quietIngestP99,
      },
      note: `${busy.ingest.length} probes with, ${quiet.ingest.length} without`,
    });

    ctx.log(`load: ${TAILS} idle live tails during a ${TAIL_INGEST_LINES}-line ingest`);
    const before = statusBytes(daniel.proc.pid, 'VmRSS') ?? 0;
    const tails: Socket[] = [];
    try {
      // In groups: the server's connection limit and accept queue are not what is measured here.
      for (let i = 0; i < TAILS; i += 16) tails.push(...(await Promise.all(Array.from({ length: Math.min(16, TAILS - i) }, () => idleTail(daniel, token)))));
      let peak = statusBytes(daniel.proc.pid, 'VmRSS') ?? 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, statusBytes(daniel.proc.pid, 'VmRSS') ?? 0);
      }, 50);
      for (let serial = 0; serial * BATCH_LINES < TAIL_INGEST_LINES; serial++) {
        await ingest(daniel, token, batch(offsets, 'web-2', `tail-${serial % 4}.log`, BATCH_LINES, serial));
      }
      // Give the tails time to read what arrived.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      clearInterval(sampler);
      peak = Math.max(peak, statusBytes(daniel.proc.pid, 'VmRSS') ?? 0);
      const grew = (peak - before) / MiB;
      const open = tails.filter((socket) => !socket.destroyed && !socket.readableEnded).length;
      report.add({
        name: `Daniel RSS growth, ${TAILS} idle live tails, ${TAIL_INGEST_LINES}-line ingest`,
        value: grew,
        unit: 'MiB',
        baselines: [{ name: 'RSS before the tails connected', value: before / MiB, unit: 'MiB' }],
        target: { text: '<= +300 MiB', pass: grew <= 300 },
        note: `peak ${(peak / MiB).toFixed(0)} MiB (VmRSS sampled every 50 ms); ${open} of ${TAILS} tails still open at the end (the rest were closed RATE_LIMITED as too slow)`,
      });
    } finally {
      for (const socket of tails) socket.destroy();
    }
  } catch (error) {
    report.note(`failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await daniel.proc.stop(30_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report.finish();
}
