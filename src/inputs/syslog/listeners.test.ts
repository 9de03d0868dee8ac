/**
 * The listeners on real sockets with a sink that records what it is given (the store's own
 * sink is exercised end to end in test/server/syslog-clients.test.ts).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors.js';
import type { PushedBatch, PushResult, PushSink } from '../sink.js';
import { startSyslog, type RunningSyslog, type SyslogOptions } from './listeners.js';

class RecordingSink implements PushSink {
  readonly pushes: PushedBatch[][] = [];
  /** While set, push waits for it. */
  gate: Promise<void> | undefined;
  failures = 0;
  async push(batches: readonly PushedBatch[]): Promise<PushResult> {
    if (this.gate !== undefined) await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new AppError('RATE_LIMITED', 'the store is behind');
    }
    this.pushes.push(structuredClone([...batches]));
    return { accepted: batches.reduce((sum, batch) => sum + batch.entries.length, 0), duplicates: 0, rejected: [] };
  }
  get entries(): (PushedBatch['entries'][number] & { host: string; filename: string })[] {
    return this.pushes.flat().flatMap((batch) => batch.entries.map((entry) => ({ ...entry, host: batch.host, filename: batch.filename })));
  }
}

const quiet = { info: () => undefined, warn: () => undefined };
let running: RunningSyslog | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(sink: PushSink, extra: Partial<SyslogOptions> = {}): Promise<RunningSyslog> {
  const lines: string[] = [];
  running = await startSyslog({
    udp: { host: '127.0.0.1', port: 0 },
    tcp: { host: '127.0.0.1', port: 0 },
    sink,
    log: quiet,
    info: (line) => lines.push(line),
    batch: { flushMs: 10, retryMs: 10 },
    ...extra,
  });
  expect(lines).toEqual([`syslog listening on ${running.urls.udp}`, `syslog listening on ${running.urls.tcp}`]);
  expect(running.urls.tcp).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
  return running;
}

const portOf = (url: string | undefined): number => Number(new URL(url!.replace(/^\w+:/, 'http:')).port);

async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function tcp(url: string | undefined): Promise<Socket> {
  const socket = connect(portOf(url), '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

function udpSend(url: string | undefined, payload: Buffer | string): Promise<void> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) =>
    socket.send(payload, portOf(url), '127.0.0.1', (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    }),
  );
}

describe('syslog listeners', () => {
  it('take a datagram: host from HOSTNAME else the peer, filename from APP-NAME else syslog', async () => {
    const sink = new RecordingSink();
    const { urls } = await start(sink);
    await udpSend(urls.udp, '<11>1 2026-12-02T06:00:00Z web-1 nginx 42 - - upstream timed out');
    await udpSend(urls.udp, 'no header at all\n');
    await until(() => sink.entries.length === 2, 'two entries');
    const [first, second] = sink.entries;
    expect(first).toMatchObject({
      host: 'web-1',
      filename: 'nginx',
      line: 'upstream timed out',
      timestamp: BigInt(Date.parse('2026-12-02T06:00:00Z')) * 1_000_000n,
      fields: { app: 'nginx', procid: '42', facility: 'user', level: 'error' },
    });
    expect(second).toMatchObject({ host: '127.0.0.1', filename: 'syslog', line: 'no header at all', fields: { level: 'notice' } });
  });

  it('take TCP frames of both framings, in order per source, grouped by (host, app)', async () => {
    const sink = new RecordingSink();
    const { urls } = await start(sink);
    const socket = await tcp(urls.tcp);
    const parts: string[] = [];
    for (let i = 0; i < 2_500; i++) {
      const message = `<14>1 - host-${i % 2} app - - - line ${i}`;
      parts.push(i % 3 === 0 ? `${Buffer.byteLength(message)} ${message}` : `${message}\n`);
    }
    socket.end(parts.join(''));
    await until(() => sink.entries.length === 2_500, '2,500 entries');
    const byHost = (host: string): string[] => sink.entries.filter((entry) => entry.host === host).map((entry) => entry.line);
    expect(byHost('host-0')).toEqual(Array.from({ length: 1_250 }, (_, k) => `line ${k * 2}`));
    expect(byHost('host-1')).toEqual(Array.from({ length: 1_250 }, (_, k) => `line ${k * 2 + 1}`));
  });

  it('survive random bytes on TCP and UDP; invalid UTF-8 becomes U+FFFD', async () => {
    const sink = new RecordingSink();
    const { urls } = await start(sink);
    for (let i = 0; i < 20; i++) {
      const socket = await tcp(urls.tcp);
      socket.end(randomBytes(5_000));
      await udpSend(urls.udp, randomBytes(1_000));
    }
    const socket = await tcp(urls.tcp);
    socket.end(Buffer.concat([Buffer.from('<13>Dec  1 10:00:00 h app: bad '), Buffer.from([0xff, 0xfe]), Buffer.from(' end\n')]));
    await until(() => sink.entries.some((entry) => entry.line.endsWith(' end')), 'the message after the garbage');
    expect(sink.entries.find((entry) => entry.line.endsWith(' end'))?.line).toBe('bad \ufffd\ufffd end');
    await udpSend(urls.udp, '<13>still listening');
    await until(() => sink.entries.some((entry) => entry.line === '<13>still listening' || entry.line === 'still listening'), 'udp after garbage');
  });

  it('stop reading a TCP sender while the store is behind, then take every line', async () => {
    const sink = new RecordingSink();
    let release: () => void = () => undefined;
    sink.gate = new Promise((resolve) => (release = resolve));
    const { urls, batcher } = await start(sink, { batch: { flushMs: 5, maxPendingEntries: 2_000 } });
    const socket = await tcp(urls.tcp);
    const line = `<13>1 - h app - - - ${'x'.repeat(200)}\n`;
    const total = 40_000;
    let written = 0;
    // Write until the socket pushes back (the kernel buffers fill once Daniel stops reading).
    await new Promise<void>((resolve) => {
      const writeMore = (): void => {
        while (written < total) {
          written++;
          if (!socket.write(line)) {
            socket.once('drain', writeMore);
            return;
          }
        }
        resolve();
      };
      writeMore();
      // Stop the test's wait once the sender is held back long enough to check the bound.
      setTimeout(resolve, 1_500);
    });
    expect(written).toBeLessThan(total);
    // Held back: what waits is bounded by maxPendingEntries plus one read.
    const waiting = (batcher as unknown as { pendingEntries: number; inFlightEntries: number });
    expect(waiting.pendingEntries + waiting.inFlightEntries).toBeLessThan(2_000 + 65_536 / line.length + 10);
    release();
    sink.gate = undefined;
    await new Promise<void>((resolve) => {
      const writeMore = (): void => {
        while (written < total) {
          written++;
          if (!socket.write(line)) {
            socket.once('drain', writeMore);
            return;
          }
        }
        resolve();
      };
      if (socket.writableNeedDrain) socket.once('drain', writeMore);
      else writeMore();
    });
    socket.end();
    await until(() => sink.entries.length === total, `${total} entries`);
  });

  it('push a full batch (by entries or by bytes) at once, without waiting for the flush timer', async () => {
    for (const batch of [
      { maxBatch: 100, maxBatchBytes: 1 << 30 },
      { maxBatch: 1_000_000, maxBatchBytes: 100 * (64 + 10) },
    ]) {
      const sink = new RecordingSink();
      const { urls } = await start(sink, { batch: { flushMs: 600_000, ...batch } });
      const socket = await tcp(urls.tcp);
      socket.end(Array.from({ length: 250 }, (_, i) => `<13>1 - h app - - - line ${String(i).padStart(5, '0')}\n`).join(''));
      // The last 50 wait for the timer (or the stop); the first 200 go as soon as they make a batch.
      await until(() => sink.entries.length >= 200, `two full batches with ${JSON.stringify(batch)}`);
      expect(sink.entries.map((entry) => entry.line).slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(5, '0')}`));
      await running?.close();
      running = undefined;
      expect(sink.entries).toHaveLength(250);
    }
  });

  it('retry a push the store refuses for a while, and drop datagrams only while behind', async () => {
    const sink = new RecordingSink();
    sink.failures = 3;
    const { urls, batcher } = await start(sink);
    const socket = await tcp(urls.tcp);
    socket.end('<13>1 - h app - - - kept\n');
    await until(() => sink.entries.length === 1, 'the retried entry');
    expect(batcher.counts).toMatchObject({ stored: 1, retries: 3, dropped: 0 });
  });
});
