/** Bounds on connections: past --max-connections new connections are closed at once, and served again when one closes. */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../../test/server/helpers.js';
import { parseServeConfig } from './config.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** A health check on a fresh connection: the status, or 'closed' when the server cut it. */
function health(port: number): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d+)/.exec(text)?.[1];
      resolve(status === undefined ? 'closed' : Number(status));
    });
  });
}

test('idle connections past the limit cannot lock clients out for longer than they stay', async () => {
  t = await startTestApp({ limits: { maxConnections: 3 } });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (t.app.server.address() as { port: number }).port;
  const idle = [await open(port), await open(port), await open(port)];
  expect(await health(port)).toBe('closed');
  const first = idle.shift()!;
  first.destroy();
  await once(first, 'close');
  // The server sees the close a moment later.
  let status: number | 'closed' = 'closed';
  for (let i = 0; i < 50 && status === 'closed'; i++) status = await health(port);
  expect(status).toBe(200);
  for (const socket of idle) socket.destroy();
});

test('the bounds have documented defaults and are set by flags or environment', () => {
  const defaults = parseServeConfig({}, {});
  expect(defaults).toMatchObject({ maxConnections: 512, maxQueries: 16, maxQueriesPerToken: 8, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 });
  const set = parseServeConfig({ maxConnections: '100', requestTimeout: '2m' }, { DANIEL_MAX_QUERIES: '4', DANIEL_MAX_QUERIES_PER_TOKEN: '2', DANIEL_HEADERS_TIMEOUT: '5s', DANIEL_KEEP_ALIVE_TIMEOUT: '30s' });
  expect(set).toMatchObject({ maxConnections: 100, maxQueries: 4, maxQueriesPerToken: 2, headersTimeoutMs: 5_000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 30_000 });
  expect(() => parseServeConfig({ maxQueries: '0' }, {})).toThrow('--max-queries / DANIEL_MAX_QUERIES');
  expect(() => parseServeConfig({}, { DANIEL_HEADERS_TIMEOUT: 'soon' })).toThrow('--headers-timeout / DANIEL_HEADERS_TIMEOUT');
});
