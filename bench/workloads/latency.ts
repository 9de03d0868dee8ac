/**
 * Workload 5, latency from append to the user, on the loaded Daniel: the canary
 * (src/canary) writes numbered lines at a steady rate through a real Henrik and times them
 * into a live-tail client (SSE); meanwhile this workload polls the search API every 50 ms
 * and times the same lines to searchable. Each line starts with its append time (the
 * canary writes it), so both clocks start at the write.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LogsResponse } from '../../src/protocol/api.js';
import { getJson } from '../lib/api.js';
import type { BenchContext } from '../lib/context.js';
import { henrikBin, repoRoot } from '../lib/paths.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { percentile } from '../lib/stats.js';

const HOST = 'bench-canary';
const POLL_MS = 50;

interface CanaryModule {
  runCanary: (options: {
    server: string;
    token: string;
    ratePerSecond?: number;
    durationMs?: number;
    host?: string;
    drainTimeoutMs?: number;
    henrikBin?: string;
    log?: (message: string) => void;
  }) => Promise<{
    sent: number;
    missing: number;
    duplicated: number;
    ok: boolean;
    latency: { p50Ms: number; p99Ms: number; maxMs: number; samples: number; method: 'follow' | 'poll' } | null;
  }>;
}

/** Polls the newest lines of the canary host; records write -> searchable per seq. */
function pollSearchable(ctx: BenchContext): { stop: () => Promise<number[]> } {
  const seen = new Map<number, number>();
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      try {
        const body = await getJson<LogsResponse>(ctx, `/hosts/${HOST}/logs?count=250`, 10_000);
        const now = Date.now();
        for (const entry of body.data) {
          const seq = /seq=(\d+)/.exec(entry.logline);
          const written = Date.parse(entry.logline.slice(0, 24));
          if (seq && Number.isFinite(written) && !seen.has(Number(seq[1]))) seen.set(Number(seq[1]), now - written);
        }
      } catch {
        // 404 until the host's first line is stored.
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, POLL_MS - (Date.now() - started))));
    }
  };
  const running = loop();
  return {
    stop: async () => {
      stopped = true;
      await running;
      return [...seen.values()];
    },
  };
}

export async function latencyWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('latency', 'Latency: append -> searchable and append -> live-tail client');
  const searchTarget = { text: '<= 2 s p99', pass: undefined };
  const tailTarget = { text: '<= 1 s (p99)', pass: undefined };
  const canaryFile = path.join(repoRoot, 'src', 'canary', 'canary.ts');
  let why: string | undefined;
  if (!ctx.daniel || ctx.danielMissing) why = `needs the ingested Daniel (see ingest): ${ctx.danielMissing ?? 'not started'}`;
  else if (!existsSync(canaryFile)) why = 'the canary (src/canary/canary.ts) does not exist yet';
  if (why || !ctx.daniel) {
    report.add({ name: 'append -> searchable', unit: 'ms', notMeasured: why, target: searchTarget });
    report.add({ name: 'append -> live-tail client', unit: 'ms', notMeasured: why, target: tailTarget });
    return report.finish();
  }
  const { canaryRate, canaryMs } = ctx.config;
  report.command(`runCanary({ ratePerSecond: ${canaryRate}, durationMs: ${canaryMs}, host: '${HOST}' }) from src/canary/canary.ts (same as: node dist/bin/daniel.js canary --rate ${canaryRate} --duration ${canaryMs / 1000}s --host ${HOST})`);
  report.command(`GET /hosts/${HOST}/logs?count=250 every ${POLL_MS} ms while it runs`);
  const canary = (await import('../../src/canary/canary.js')) as CanaryModule;
  const poller = pollSearchable(ctx);
  let result: Awaited<ReturnType<CanaryModule['runCanary']>>;
  try {
    result = await canary.runCanary({
      server: ctx.daniel.url,
      token: ctx.token,
      ratePerSecond: canaryRate,
      durationMs: canaryMs,
      host: HOST,
      drainTimeoutMs: 30_000,
      henrikBin,
      log: ctx.log,
    });
  } catch (error) {
    await poller.stop();
    const message = `canary failed: ${(error as Error).message}`;
    report.add({ name: 'append -> searchable', unit: 'ms', notMeasured: message, target: searchTarget });
    report.add({ name: 'append -> live-tail client', unit: 'ms', notMeasured: message, target: tailTarget });
    return report.finish();
  }
  const searchable = await poller.stop();
  report.note(`canary: sent ${result.sent} lines at ${canaryRate}/s over ${canaryMs / 1000} s; missing ${result.missing}, duplicated ${result.duplicated}${result.ok ? '' : ' (CANARY NOT OK)'}.`);

  const p50 = percentile(searchable, 0.5);
  const p99 = percentile(searchable, 0.99);
  report.add({
    name: 'append -> searchable',
    value: p50,
    p99,
    unit: 'ms',
    notMeasured: searchable.length === 0 ? 'no canary line was found by polling the search API' : undefined,
    target: { text: searchTarget.text, pass: p99 === undefined ? undefined : p99 <= 2000 },
    note: `${searchable.length} lines, polled every ${POLL_MS} ms (adds up to ${POLL_MS} ms plus the query's own time)`,
  });
  const live = result.latency?.method === 'follow' ? result.latency : undefined;
  report.add({
    name: 'append -> live-tail client',
    value: live?.p50Ms,
    p99: live?.p99Ms,
    unit: 'ms',
    notMeasured: live ? undefined : result.latency ? 'live tail (follow=true) was not available: the canary fell back to polling' : 'no canary line reached the live tail',
    target: { text: tailTarget.text, pass: live ? live.p99Ms <= 1000 : undefined },
    note: live ? `${live.samples} lines through GET /logs?follow=true (SSE), max ${live.maxMs} ms` : undefined,
  });
  return report.finish();
}
