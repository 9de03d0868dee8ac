/**
 * HTTPS end to end with certificates made by openssl at test time: the start line says
 * https://, curl trusts Daniel only with the CA, a real Henrik ships with --ca (and with a
 * client certificate when Daniel asks for one), and SIGHUP swaps the certificate while an
 * open live tail keeps streaming. Uses dist/ (npm run build first).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const DANIEL = fileURLToPath(new URL('../../dist/bin/daniel.js', import.meta.url));
const HENRIK = fileURLToPath(new URL('../../dist/bin/henrik.js', import.meta.url));
const ADMIN = 'admin-token-for-the-tls-test';

let dir: string;
const children = new Set<ChildProcess>();
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, two server certificates for 127.0.0.1 (a and b) and one client certificate. */
function makeCertificates(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test CA');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn, ext] of [['a', 'daniel a', 'server.ext'], ['b', 'daniel b', 'server.ext'], ['client', 'henrik', 'client.ext']] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
  }
}

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startDaniel(name: string, extra: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['--enable-experimental-regexp-engine', DANIEL, 'serve', '--listen', '127.0.0.1:0', '--data-dir', file(`data-${name}`), ...extra], {
    env: { ...process.env, DANIEL_TOKENS: `admin:${ADMIN}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const started = Date.now();
  while (!/listening on (\S+)/.test(out)) {
    if (Date.now() - started > 30_000 || child.exitCode !== null) throw new Error(`daniel did not start: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url: /listening on (\S+)/.exec(out)![1]!, output: () => out };
}

function curl(args: string[]): { status: number; body: string } {
  const run = spawnSync('curl', ['-sS', '--max-time', '20', ...args], { encoding: 'utf8' });
  return { status: run.status ?? -1, body: run.stdout + run.stderr };
}

/** The CN of the certificate a new connection is shown. */
async function servedName(url: string): Promise<string> {
  const { port } = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), ca: [file('ca.pem')].map((f) => execFileSync('cat', [f])), servername: 'localhost' });
  await once(socket, 'secureConnect');
  const name = String(socket.getPeerCertificate().subject.CN);
  socket.destroy();
  return name;
}

async function runHenrik(url: string, host: string, extra: string[]): Promise<{ code: number | null; stderr: string }> {
  const logs = file(`logs-${host}`);
  execFileSync('mkdir', ['-p', logs]);
  writeFileSync(join(logs, 'app.log'), 'first line over TLS\nsecond line over TLS\n');
  writeFileSync(file(`token-${host}`), `${ADMIN}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [HENRIK, '--once', '--server', url, '--host', host, '--state-dir', file(`state-${host}`), '--token-file', file(`token-${host}`), ...extra, join(logs, '*.log')], {
    env: { ...process.env, HENRIK_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

beforeAll(() => {
  if (!existsSync(DANIEL)) throw new Error(`${DANIEL} is missing: run npm run build first`);
  dir = mkdtempSync(join(tmpdir(), 'daniel-tls-'));
  makeCertificates();
  copyFileSync(file('a.pem'), file('live.pem'));
  copyFileSync(file('a.key'), file('live.key'));
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS', () => {
  let daniel: Started;
  beforeAll(async () => {
    daniel = await startDaniel('tls', ['--tls-cert', file('live.pem'), '--tls-key', file('live.key')]);
  });

  test('the start line says https://; curl trusts it with the CA only', () => {
    expect(daniel.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const auth = ['-H', `Authorization: Bearer ${ADMIN}`];
    expect(curl([...auth, '-o', '/dev/null', '-w', '%{http_code}', '--cacert', file('ca.pem'), `${daniel.url}/hosts/`]).body).toBe('200');
    expect(curl([...auth, `${daniel.url}/hosts/`]).status).toBe(60);
    expect(curl(['-o', '/dev/null', '-w', '%{http_code}', `http://${new URL(daniel.url).host}/hosts/`]).body).not.toBe('200');
  });

  test('a real Henrik ships over TLS with --ca', async () => {
    const run = await runHenrik(daniel.url, 'tls-box', ['--ca', file('ca.pem')]);
    expect(run.code, run.stderr).toBe(0);
    const answer = curl(['-H', `Authorization: Bearer ${ADMIN}`, '--cacert', file('ca.pem'), `${daniel.url}/hosts/tls-box/logs?order=asc`]);
    expect((JSON.parse(answer.body) as { data: { logline: string }[] }).data.map((e) => e.logline)).toEqual(['first line over TLS', 'second line over TLS']);
  });

  test('Henrik refuses a server it cannot verify (no --ca)', async () => {
    const child = spawn(process.execPath, [HENRIK, '--once', '--server', daniel.url, '--host', 'unverified', '--state-dir', file('state-unverified'), ...[file('logs-tls-box/*.log')]], {
      env: { ...process.env, HENRIK_TOKEN: ADMIN, NODE_EXTRA_CA_CERTS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const started = Date.now();
    while (!/certificate|self.signed|verify/i.test(stderr) && Date.now() - started < 20_000) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGKILL');
    expect(stderr).toMatch(/certificate|verify/i);
  });

  test('SIGHUP swaps the certificate; an open live tail keeps streaming', async () => {
    expect(await servedName(daniel.url)).toBe('daniel a');
    let tail = '';
    const tailing = request(`${daniel.url}/logs?follow=true`, { headers: { authorization: `Bearer ${ADMIN}` }, ca: execFileSync('cat', [file('ca.pem')]) });
    tailing.end();
    const [response] = (await once(tailing, 'response')) as [import('node:http').IncomingMessage];
    expect(response.statusCode).toBe(200);
    response.setEncoding('utf8').on('data', (chunk: string) => (tail += chunk));

    copyFileSync(file('b.pem'), file('live.pem'));
    copyFileSync(file('b.key'), file('live.key'));
    daniel.child.kill('SIGHUP');
    const started = Date.now();
    while (!/reloaded/.test(daniel.output())) {
      if (Date.now() - started > 20_000) throw new Error(`no reload: ${daniel.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await servedName(daniel.url)).toBe('daniel b');

    const run = await runHenrik(daniel.url, 'after-reload', ['--ca', file('ca.pem')]);
    expect(run.code, run.stderr).toBe(0);
    const seen = Date.now();
    while (!tail.includes('second line over TLS') && Date.now() - seen < 20_000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tail).toContain('"host":"after-reload"');
    tailing.destroy();
  });
});

describe('client certificates (--tls-client-ca)', () => {
  let daniel: Started;
  beforeAll(async () => {
    daniel = await startDaniel('mtls', ['--tls-cert', file('a.pem'), '--tls-key', file('a.key'), '--tls-client-ca', file('ca.pem')]);
  });

  test('a client without a certificate is refused; with one it gets in; Henrik ships with --cert/--key', async () => {
    const auth = ['-H', `Authorization: Bearer ${ADMIN}`, '--cacert', file('ca.pem')];
    expect(curl([...auth, '-o', '/dev/null', '-w', '%{http_code}', `${daniel.url}/hosts/`]).body).not.toBe('200');
    expect(curl([...auth, '--cert', file('client.pem'), '--key', file('client.key'), '-o', '/dev/null', '-w', '%{http_code}', `${daniel.url}/hosts/`]).body).toBe('200');
    const run = await runHenrik(daniel.url, 'mtls-box', ['--ca', file('ca.pem'), '--cert', file('client.pem'), '--key', file('client.key')]);
    expect(run.code, run.stderr).toBe(0);
  });
});
