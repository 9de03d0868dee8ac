/**
 * Syslog: lines/s stored from one TCP connection (octet-counted RFC 5424, no
 * acknowledgement in the protocol, so "acknowledged" = visible in /hosts/), beside
 * `POST /ingest` at 1,000-line requests from one client into the same Daniel in the same run;
 * and UDP loss at 20k and 50k messages/s (sent for 2 s each, counted in /hosts/ once the count
 * stops growing).
 */
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { HostEntry } from '../../src/protocol/api.js';
import { getJson } from '../lib/api.js';
import type { BenchContext } from '../lib/context.js';
import { workDir } from '../lib/paths.js';
import { WorkloadReport, ratio, type WorkloadResult } from '../lib/results.js';
import { danielCommand, startDaniel } from '../lib/system.js';

const BATCH = 1_000;
const UDP_RATES = [20_000, 50_000];
const UDP_SECONDS = 2;

function text(i: number): string {
  return `GET /api/items/${i % 9973} 200 ${i % 347}ms user=u${i % 101} request_id=${(i * 2654435761) % 4294967296}`;
}

async function storedLines(ctx: BenchContext, host: string): Promise<number> {
  const hosts = await getJson<{ data: HostEntry[] }>(ctx, '/hosts/');
  return hosts.data.find((entry) => entry.host === host)?.lines ?? 0;
}

/** Polls until `host` holds `count` lines, or its count stops growing for `quietMs`. */
async function waitStored(ctx: BenchContext, host: string, count: number, quietMs: number): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const now = await storedLines(ctx, host);
    if (now >= count) return now;
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since > quietMs) return now;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function syslogWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('syslog', 'Syslog: one TCP connection beside /ingest, and UDP loss');
  const lines = Math.min(ctx.config.totalLines, ctx.config.quick ? 100_000 : 1_000_000);
  const dataDir = path.join(workDir, 'daniel-syslog');
  rmSync(dataDir, { recursive: true, force: true });
  const extraArgs = ['--syslog-tcp', '127.0.0.1:0', '--syslog-udp', '127.0.0.1:0'];
  report.command(`DANIEL_TOKENS=admin:… node --enable-experimental-regexp-engine dist/bin/daniel.js ${danielCommand({ dataDir, token: '', extraArgs }).join(' ')}`);
  const daniel = await startDaniel({ dataDir, token: ctx.token, extraArgs, profileName: 'daniel-syslog' });
  const saved = ctx.daniel;
  ctx.daniel = { ...daniel, dataDir, ingestedLines: 0 };
  try {
    const tcpPort = Number((await daniel.proc.waitFor(/syslog listening on tcp:\/\/127\.0\.0\.1:(\d+)/, 10_000))[1]);
    const udpPort = Number((await daniel.proc.waitFor(/syslog listening on udp:\/\/127\.0\.0\.1:(\d+)/, 10_000))[1]);

    // /ingest: 1,000-line requests, one after another, as one Henrik sends them.
    const bodies: string[] = [];
    for (let start = 0; start < lines; start += BATCH) {
      const batch = [];
      for (let i = start; i < Math.min(lines, start + BATCH); i++) {
        batch.push({ offset: i * 100, end: i * 100 + 100, timestamp: String(BigInt(Date.now()) * 1_000_000n), line: text(i) });
      }
      bodies.push(JSON.stringify({ host: 'bench-ingest', files: [{ file_id: 'bench:1', filename: 'app.log', lines: batch }] }));
    }
    let started = performance.now();
    for (const body of bodies) {
      const response = await fetch(`${daniel.url}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
        body,
      });
      if (response.status !== 200) throw new Error(`/ingest answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    }
    const ingestRate = lines / ((performance.now() - started) / 1000);
    report.command(`POST /ingest: ${bodies.length} requests of ${BATCH} lines, one at a time, one client`);

    // Syslog over one TCP connection: from the first byte to the last line visible in /hosts/.
    const frames: Buffer[] = [];
    let chunk: string[] = [];
    const stamp = new Date().toISOString();
    for (let i = 0; i < lines; i++) {
      const message = `<14>1 ${stamp} bench-syslog app ${i % 1000} - - ${text(i)}`;
      chunk.push(`${Buffer.byteLength(message)} ${message}`);
      if (chunk.length === BATCH) {
        frames.push(Buffer.from(chunk.join('')));
        chunk = [];
      }
    }
    if (chunk.length > 0) frames.push(Buffer.from(chunk.join('')));
    started = performance.now();
    const socket = connect(tcpPort, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    for (const frame of frames) {
      if (!socket.write(frame)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    socket.end();
    const storedTcp = await waitStored(ctx, 'bench-syslog', lines, 10_000);
    const tcpRate = storedTcp / ((performance.now() - started) / 1000);
    report.command(`one TCP connection: ${lines} octet-counted RFC 5424 messages, timed to the last line in /hosts/`);
    report.add({
      name: 'syslog TCP lines/s stored (one connection)',
      value: tcpRate,
      unit: 'lines/s',
      baselines: [{ name: `POST /ingest, ${BATCH}-line requests, one client, same Daniel`, value: ingestRate, unit: 'lines/s', ratio: ratio(tcpRate, ingestRate) }],
      target: { text: '>= 0.5x /ingest', pass: tcpRate >= 0.5 * ingestRate },
      note: `${storedTcp} of ${lines} lines stored`,
    });

    // UDP at fixed rates: paced in 1 ms steps from this process.
    for (const rate of UDP_RATES) {
      const host = `bench-udp-${rate}`;
      const udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp.connect(udpPort, '127.0.0.1', () => resolve()));
      const total = rate * UDP_SECONDS;
      const payloads = Array.from({ length: total }, (_, i) => Buffer.from(`<14>1 ${stamp} ${host} app - - - ${text(i)}`));
      let sent = 0;
      const sendStart = performance.now();
      await new Promise<void>((resolve) => {
        const step = (): void => {
          const due = Math.min(total, Math.floor(((performance.now() - sendStart) / 1000) * rate));
          while (sent < due) udp.send(payloads[sent++] as Buffer);
          if (sent >= total) resolve();
          else setImmediate(step);
        };
        step();
      });
      const sendSeconds = (performance.now() - sendStart) / 1000;
      const stored = await waitStored(ctx, host, total, 2_000);
      udp.close();
      const lost = (total - stored) / total;
      report.add({
        name: `syslog UDP loss at ${rate / 1000}k messages/s`,
        value: lost * 100,
        unit: '%',
        note: `${total} datagrams sent in ${sendSeconds.toFixed(2)} s (${Math.round(total / sendSeconds)}/s achieved by the sender), ${stored} stored; load average ${loadavg()[0]?.toFixed(1)}; receive buffer as granted by net.core.rmem_max`,
      });
    }
    report.command(`UDP: ${UDP_RATES.join(' and ')} messages/s for ${UDP_SECONDS} s each from one socket, counted in /hosts/`);
  } finally {
    ctx.daniel = saved;
    await daniel.proc.stop(30_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return report.finish();
}
