/**
 * SIGTERM on a real `daniel serve` while clients hold connections: idle keep-alive sockets,
 * a socket that never sent a request, and a live tail must not hold the exit; a request in
 * flight finishes first. The grace is set to 60 s, so an exit within 20 s shows that nothing
 * waited for it (before the fix, the idle sockets held the exit for the whole grace).
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { andynewmanBatch } from './helpers.js';
import { startDaniel, type DanielProcess } from '../lib/processes.js';

const GRACE = '60s';
/** Far below the grace, far above a normal exit (tens of ms) on a loaded machine. */
const EXIT_BOUND_MS = 20_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-shutdown-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function serve(name: string): Promise<{ server: DanielProcess; url: URL; token: string }> {
  const dataDir = join(dir, name);
  const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', 'sqlite', '--shutdown-grace', GRACE]);
  const [, url] = await server.waitFor(/^listening on (http:\/\/\S+)$/m);
  const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
  return { server, url: new URL(url!), token };
}

function get(agent: http.Agent, url: URL, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(path, url), { agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

async function stopAndTime(server: DanielProcess): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  server.child.kill('SIGTERM');
  const code = await server.exited();
  return { code, ms: performance.now() - started };
}

describe('daniel serve on SIGTERM', () => {
  test('idle keep-alive sockets, a never-used socket and a live tail do not hold the exit', async () => {
    const { server, url, token } = await serve('idle');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      // Several keep-alive sockets, each idle in the agent's pool after its answer.
      const answers = await Promise.all([get(agent, url, '/healthz'), get(agent, url, '/hosts/', token), get(agent, url, '/logs?count=1', token)]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(Object.values(agent.freeSockets).flat().length).toBeGreaterThan(0);
      // A socket that connects and sends nothing (as clients that pre-connect do).
      const silent = net.connect(Number(url.port), url.hostname);
      await once(silent, 'connect');
      const silentClosed = once(silent, 'close');
      silent.on('error', () => undefined);
      // A live tail.
      const tail = await fetch(new URL('/logs?follow=true', url), { headers: { authorization: `Bearer ${token}` } });
      expect(tail.status).toBe(200);
      const tailText = tail.text();

      const { code, ms } = await stopAndTime(server);
      expect(code).toBe(0);
      expect(ms, `exit took ${Math.round(ms)} ms`).toBeLessThan(EXIT_BOUND_MS);
      await silentClosed;
      expect(await tailText).toContain(': connected');
    } finally {
      agent.destroy();
    }
  }, 60_000);

  test('a request in flight at SIGTERM is answered, then the process exits 0', async () => {
    const { server, url, token } = await serve('inflight');
    const batch = andynewmanBatch();
    const lines = batch.files.reduce((sum, file) => sum + file.lines.length, 0);
    const body = Buffer.from(JSON.stringify(batch));
    const socket = net.connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const closed = once(socket, 'close');
    // A keep-alive request whose body is sent only after SIGTERM. With `Expect: 100-continue`
    // the server says when it holds the request, so the signal surely finds it in flight.
    socket.write(
      `POST /ingest HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n\r\n`,
    );
    await waitUntil(() => received.includes('100 Continue'));

    const started = performance.now();
    server.child.kill('SIGTERM');
    socket.write(body);
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(received).toContain(`"accepted":${lines}`);
    const code = await server.exited();
    const ms = performance.now() - started;
    expect(code).toBe(0);
    expect(ms, `exit took ${Math.round(ms)} ms`).toBeLessThan(EXIT_BOUND_MS);
  }, 60_000);
});

async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
