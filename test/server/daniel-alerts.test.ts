/**
 * Alerts with real processes: `kill -9` of Daniel between firing and delivery (the
 * notification recorded in alerts.db is delivered after the restart, with the same id), and
 * Debian's prometheus-alertmanager receiving firing and resolved alerts through its API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { until } from '../alerts/fixtures.js';
import { startReceiver } from '../alerts/receiver.js';
import { runDaniel, serveDaniel, type ServedDaniel } from '../lib/processes.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers checked by the assertions
type Json = any;

async function api(daniel: { url: string }, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${daniel.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

function ingestBody(host: string, lines: string[], from: number): unknown {
  const now = String(BigInt(Date.now()) * 1_000_000n);
  let offset = from;
  return {
    host,
    files: [{ file_id: `f-${host}`, filename: 'app.log', path: '/var/log/app.log', lines: lines.map((line) => {
      const item = { offset, timestamp: now, line };
      offset += line.length + 1;
      return item;
    }) }],
  };
}

describe('alerts across kill -9', () => {
  test('a notification recorded but not yet delivered when Daniel is killed is delivered after the restart, with the same id', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-alerts-kill-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    receiver.hang(true);
    let daniel: ServedDaniel = await serveDaniel({ dataDir });
    cleanups.push(() => daniel.stop());
    const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
    const created = await api(daniel, token, 'POST', '/alerts', { name: 'crash-me', q: 'out of memory', condition: { kind: 'count', window: '10m' }, notify: [{ webhook: `${receiver.url}/hook` }] });
    expect(created.status).toBe(201);
    const id = created.json.data.id as string;
    expect((await api(daniel, token, 'POST', '/ingest', ingestBody('db-1', ['java.lang.OutOfMemoryError: out of memory'], 0))).status).toBe(200);
    // The receiver holds the request: fired, recorded, sent, not delivered.
    const [first] = await receiver.waitFor(1);
    const notificationId = (first!.body as { id: string }).id;
    expect((await api(daniel, token, 'GET', `/alerts/${id}`)).json.data).toMatchObject({ state: 'firing', pending_deliveries: 1, last_delivery: null });
    expect(statSync(join(dataDir, 'alerts.db')).mode & 0o777).toBe(0o600);
    daniel.child.kill('SIGKILL');
    await daniel.exited();
    receiver.hang(false);

    daniel = await serveDaniel({ dataDir });
    const delivered = await receiver.waitFor(2);
    expect((delivered[1]!.body as { id: string; status: string }).id).toBe(notificationId);
    expect((delivered[1]!.body as { status: string }).status).toBe('firing');
    const after = await until('delivered', async () => {
      const data = (await api(daniel, token, 'GET', `/alerts/${id}`)).json.data as { last_delivery: unknown };
      return data.last_delivery !== null ? data : undefined;
    }, 30_000);
    expect(after).toMatchObject({ state: 'firing', pending_deliveries: 0 });
    // The group stays firing across the restart: the line is not notified a second time as new.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(new Set(receiver.received.map((r) => (r.body as { id: string }).id))).toEqual(new Set([notificationId]));
  });
});

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startAlertmanager(): Promise<{ url: string; child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'alertmanager.yml'), "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const port = await freePort();
  const child = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  cleanups.push(async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('close', resolve));
  });
  const url = `http://127.0.0.1:${port}`;
  await until(`alertmanager ready (${stderr.slice(-500)})`, async () => {
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
    return ready?.status === 200 ? true : undefined;
  }, 30_000);
  return { url, child };
}

describe.skipIf(!existsSync(ALERTMANAGER))('Alertmanager', () => {
  test('a firing group becomes an alert with the rule and group labels; resolved, it ends', { timeout: 120_000 }, async () => {
    const am = await startAlertmanager();
    const daniel = await serveDaniel();
    cleanups.push(() => daniel.stop());
    const token = readFileSync(join(daniel.dataDir, 'token'), 'utf8').trim();
    const created = await api(daniel, token, 'POST', '/alerts', {
      name: 'disk-full',
      q: '"no space left"',
      group_by: ['host'],
      labels: { severity: 'page', team: 'storage' },
      condition: { kind: 'count', window: '3s' },
      notify: [{ alertmanager: am.url }],
    });
    expect(created.status).toBe(201);
    expect((await api(daniel, token, 'POST', '/ingest', ingestBody('nas-1', ['write failed: No space left on device'], 0))).status).toBe(200);
    const alerts = await until('the alert in Alertmanager', async () => {
      const list = (await (await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22disk-full%22`)).json()) as { labels: Record<string, string>; annotations: Record<string, string>; status: { state: string }; generatorURL: string }[];
      return list.length > 0 ? list : undefined;
    }, 30_000);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.labels).toEqual({ alertname: 'disk-full', daniel_rule: created.json.data.id, host: 'nas-1', severity: 'page', team: 'storage' });
    expect(alerts[0]!.status.state).toBe('active');
    expect(alerts[0]!.annotations.line).toBe('write failed: No space left on device');
    expect(alerts[0]!.generatorURL).toMatch(new RegExp(`^${daniel.url}/\\?host=nas-1&q=%22no\\+space\\+left%22&since=`));
    // The window runs out: resolved, Alertmanager no longer lists it as active.
    await until('resolved in Alertmanager', async () => {
      const list = (await (await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22disk-full%22`)).json()) as unknown[];
      return list.length === 0 ? true : undefined;
    }, 30_000);
    const rule = (await api(daniel, token, 'GET', `/alerts/${created.json.data.id}`)).json.data;
    expect(rule).toMatchObject({ state: 'ok', last_delivery_error: null, pending_deliveries: 0 });
    expect(rule.last_delivery.target).toMatch(/^alertmanager http:\/\/127\.0\.0\.1:\d+\/api\/v2\/alerts/);
  });
});

describe('daniel alerts (CLI)', () => {
  test('create prints the id; list, show, mute and delete; a bad target is the server\'s 400', { timeout: 120_000 }, async () => {
    const daniel = await serveDaniel();
    cleanups.push(() => daniel.stop());
    const env = { DANIEL_URL: daniel.url, DANIEL_DATA_DIR: daniel.dataDir };
    const created = await runDaniel(['alerts', 'create', '--name', 'api errors', '-q', 'level:error', '--window', '5m', '--threshold', '50', '--group-by', 'host', '--webhook', 'http://127.0.0.1:9/hook', '--label', 'severity=page'], env);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const list = await runDaniel(['alerts', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^ID +NAME +STATE +CONDITION +LAST FIRED +LAST DELIVERY\\n${id} +api errors +ok +count >= 50 in 5m +- +-\\n$`));
    const shown = await runDaniel(['alerts', 'show', id], env);
    expect(shown.stdout).toContain('condition     count >= 50 in 5m, per host');
    expect(shown.stdout).toContain('notify        webhook http://127.0.0.1:9/hook');
    const muted = await runDaniel(['alerts', 'mute', id, '2h'], env);
    expect(muted.code).toBe(0);
    expect(JSON.parse((await runDaniel(['alerts', 'show', id, '--json'], env)).stdout).muted_until).toEqual(expect.any(String));
    const bad = await runDaniel(['alerts', 'create', '--name', 'x', '--window', '5m', '--webhook', 'ftp://example.com/'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/INVALID_BODY: Body notify\[0\]\.webhook must be an http/);
    const usage = await runDaniel(['alerts', 'create', '--name', 'x', '--webhook', 'http://a/'], env);
    expect(usage.code).toBe(2);
    expect((await runDaniel(['alerts', 'delete', id], env)).code).toBe(0);
    const gone = await runDaniel(['alerts', 'show', id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('ALERT_NOT_FOUND');
  });
});
