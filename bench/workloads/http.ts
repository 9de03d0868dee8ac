/**
 * Workload 6, HTTP overhead: `GET /healthz` requests/s with autocannon against Daniel and
 * against a bare node:http server answering the same body, same connections and duration,
 * so the ratio is what Daniel's framework, hooks and store check cost per request.
 * Alternating short runs and keeping each server's best makes the ratio robust to other
 * load on a shared machine.
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { BenchContext } from '../lib/context.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { startDaniel, startSink, type Server } from '../lib/system.js';
import { workDir } from '../lib/paths.js';
import path from 'node:path';

interface AutocannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
  totalCompletedRequests: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number; pipelining?: number }) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

async function blast(url: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result;
}

export async function httpWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('http', 'HTTP overhead: GET /healthz requests/s, Daniel beside bare node:http');
  const { httpConnections: connections, httpSeconds: seconds, httpRounds: rounds } = ctx.config;
  report.command(`autocannon({ url: <server>/healthz, connections: ${connections}, duration: ${seconds}, pipelining: 1 }) x${rounds} per server, alternating, best of each`);
  let daniel: Server | undefined = ctx.daniel;
  let ownDaniel: Server | undefined;
  const target = { text: '>= 0.9x bare node:http', pass: undefined };
  if (!daniel) {
    try {
      ownDaniel = await startDaniel({ dataDir: path.join(workDir, 'daniel-http'), token: ctx.token });
      daniel = ownDaniel;
      report.note('Daniel with an empty store (the ingest workload did not leave one running).');
    } catch (error) {
      report.add({ name: '/healthz requests/s', unit: 'req/s', notMeasured: `daniel serve did not start: ${(error as Error).message}`, target });
      return report.finish();
    }
  }
  const bare = await startSink();
  try {
    let best = { daniel: 0, bare: 0 };
    for (let round = 0; round < rounds; round++) {
      const b = await blast(`${bare.url}/healthz`, connections, seconds);
      const d = await blast(`${daniel.url}/healthz`, connections, seconds);
      best = { daniel: Math.max(best.daniel, d.requests.average), bare: Math.max(best.bare, b.requests.average) };
    }
    const ratioToBare = best.daniel / best.bare;
    report.add({
      name: '/healthz requests/s',
      value: best.daniel,
      unit: 'req/s',
      baselines: [{ name: 'bare node:http, same body', value: best.bare, unit: 'req/s', ratio: ratioToBare }],
      target: { text: target.text, pass: ratioToBare >= 0.9 },
      note: `${connections} connections, ${seconds} s per run, ${rounds} runs each`,
    });
  } catch (error) {
    report.add({ name: '/healthz requests/s', unit: 'req/s', notMeasured: (error as Error).message, target });
  } finally {
    await bare.proc.stop();
    await ownDaniel?.proc.stop();
    if (ownDaniel) rmSync(path.join(workDir, 'daniel-http'), { recursive: true, force: true });
  }
  return report.finish();
}
