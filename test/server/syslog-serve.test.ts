/**
 * `daniel serve` with syslog listeners as a process: a port already taken is a clear exit 2,
 * and lines a TCP sender sent just before SIGTERM are there after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serveDaniel, startDaniel } from '../lib/processes.js';

const ADMIN = 'admin-token-for-syslog-serve';
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('daniel serve --syslog-*', () => {
  test('a syslog port already taken: one line naming the syslog flags, exit 2', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'syslog-serve-'));
    dirs.push(dir);
    const proc = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--syslog-tcp', `127.0.0.1:${port}`], { DANIEL_TOKENS: `admin:${ADMIN}` });
    const code = await proc.exited();
    taken.close();
    expect(code).toBe(2);
    expect(proc.stderr()).toMatch(/cannot listen for syslog: .*EADDRINUSE.*--syslog-tcp/);
  });

  test('lines a TCP sender sent before SIGTERM are there after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslog-serve-'));
    dirs.push(dir);
    const env = { DANIEL_TOKENS: `admin:${ADMIN}` };
    const first = await serveDaniel({ dataDir: dir, args: ['--syslog-tcp', '127.0.0.1:0'], env });
    const port = Number((await first.waitFor(/syslog listening on tcp:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const count = 5_000;
    const lines = Array.from({ length: count }, (_, i) => `<14>1 - stop-host app - - - before stop ${i}\n`).join('');
    await new Promise<void>((resolve) => socket.end(lines, () => resolve()));
    await new Promise((resolve) => socket.once('close', resolve));
    await first.stop();

    const second = await serveDaniel({ dataDir: dir, env });
    try {
      const response = await fetch(`${second.url}/hosts/`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const hosts = ((await response.json()) as { data: { host: string; lines: number }[] }).data;
      expect(hosts.find((entry) => entry.host === 'stop-host')?.lines).toBe(count);
    } finally {
      await second.stop();
    }
  });
});
