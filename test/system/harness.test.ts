/**
 * The system tests' own tools, checked against a plain HTTP server: if the proxy did not
 * really cut, or the checker did not really see a lost line, every scenario would pass
 * for the wrong reason.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/protocol/api.js';
import { verifyLines } from './lib/checker.js';
import { FaultFront } from './lib/fault-front.js';
import { makeTempDir, removeTempDirs } from '../lib/processes.js';
import { TcpProxy } from './lib/tcp-proxy.js';
import { LineWriter } from './lib/writer.js';

let server: Server;
let port: number;
let received: string[];
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  received = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(body);
      res.end(`echo:${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  removeTempDirs();
});

async function post(url: string, body: string): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('tcp proxy', () => {
  it('passes, refuses, cuts mid-request and cuts the answer after the server got the request', async () => {
    const proxy = await TcpProxy.start(port);
    closers.push(() => proxy.close());
    expect((await post(`${proxy.url}/ingest`, 'one')).text).toBe('echo:one');

    proxy.mode = 'refuse';
    await expect(post(`${proxy.url}/ingest`, 'two')).rejects.toThrow();
    proxy.mode = 'pass';

    proxy.cut({ count: 1, phase: 'request', afterBytes: 20 });
    await expect(post(`${proxy.url}/ingest`, 'x'.repeat(1000))).rejects.toThrow();
    expect(received).toEqual(['one']);

    proxy.cut({ count: 1, phase: 'response' });
    await expect(post(`${proxy.url}/ingest`, 'three')).rejects.toThrow();
    // The server got it; only the answer was lost.
    expect(received).toEqual(['one', 'three']);
    expect(proxy.stats.cut).toBe(2);
    expect((await post(`${proxy.url}/ingest`, 'four')).text).toBe('echo:four');
  });
});

describe('fault front', () => {
  it('answers 429 with Retry-After and 503 to ingest until told to pass', async () => {
    const front = await FaultFront.start(port);
    closers.push(() => front.close());
    front.fail({ status: 429, retryAfterSeconds: 2 });
    const limited = await post(`${front.url}/ingest`, 'a');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    front.fail({ status: 503 });
    expect((await post(`${front.url}/ingest`, 'b')).status).toBe(503);
    front.pass();
    expect((await post(`${front.url}/ingest`, 'c')).text).toBe('echo:c');
    expect(received).toEqual(['c']);
  });
});

describe('writer and checker', () => {
  it('counts lost, duplicated and out-of-order lines', () => {
    const dir = makeTempDir('harness');
    const writer = new LineWriter({ path: join(dir, 'a.log'), stream: 'A', linesPerSecond: 100 });
    writer.writeLines(5);
    const lines = readFileSync(join(dir, 'a.log'), 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(5);
    let offset = 0;
    const entries = lines.map((logline): LogEntry => {
      const entry = { logline, offset, file_id: 'f1', filename: 'a.log' } as LogEntry;
      offset += Buffer.byteLength(logline) + 1;
      return entry;
    });
    expect(verifyLines(entries, { A: 5 })).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0 });
    const broken = [entries[0]!, entries[0]!, { ...entries[3]!, offset: 1 }, entries[2]!];
    expect(verifyLines(broken, { A: 5 })).toMatchObject({ lost: 2, duplicated: 1, outOfOrder: 1 });
  });
});
