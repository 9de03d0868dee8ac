/**
 * Syslog end to end with senders no one here wrote: util-linux `logger` (TCP octet-counted
 * RFC 5424, TCP LF-framed RFC 3164, UDP, a long LF-framed message), rsyslogd (`omfwd` over
 * TCP, traditional and octet-counted framing), syslog-ng (`network()` and `syslog()`, and
 * `syslog()` over TLS with a client certificate) into a real `daniel serve`; each line comes
 * back from /logs with its host, filename, time, level and fields.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveDaniel, type ServedDaniel } from '../lib/processes.js';
import { LOGGER, RSYSLOGD, SYSLOG_NG, logger, missingSender, rsyslogd, syslogNg, type Daemon } from './syslog-senders.js';

const ADMIN = 'admin-token-for-syslog-tests';
const CI = process.env.CI === 'true';
const RUN = `r${Date.now().toString(36)}`;

interface LogEntry {
  host: string;
  filename: string;
  logline: string;
  timestamp: string;
  fields?: Record<string, string>;
}

let dir: string;
let daniel: ServedDaniel;
const ports: Record<'udp' | 'tcp' | 'tls', number> = { udp: 0, tcp: 0, tls: 0 };
const daemons: Daemon[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate. */
function makeCertificates(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=syslog test CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn, ext] of [['server', 'daniel', 'server.ext'], ['client', 'sender', 'client.ext']] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'syslog-clients-'));
  makeCertificates();
  // The senders may run as nobody (syslog-senders.ts): they read the CA and the client's key.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'client.key'), 0o644);
  daniel = await serveDaniel({
    args: [
      '--syslog-udp', '127.0.0.1:0',
      '--syslog-tcp', '127.0.0.1:0',
      '--syslog-tls', '127.0.0.1:0',
      '--syslog-tls-cert', join(dir, 'server.pem'),
      '--syslog-tls-key', join(dir, 'server.key'),
      '--syslog-tls-client-ca', join(dir, 'ca.pem'),
    ],
    env: { DANIEL_TOKENS: `admin:${ADMIN}` },
  });
  for (const scheme of ['udp', 'tcp', 'tls'] as const) {
    const match = await daniel.waitFor(new RegExp(`syslog listening on ${scheme}://127\\.0\\.0\\.1:(\\d+)`));
    ports[scheme] = Number(match[1]);
    expect(ports[scheme]).toBeGreaterThan(0);
  }
});

afterAll(async () => {
  for (const running of daemons) await running.stop();
  await daniel?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines holding `marker`, once there are `count` of them (they arrive asynchronously). */
async function linesWith(marker: string, count: number): Promise<LogEntry[]> {
  const started = Date.now();
  let entries: LogEntry[] = [];
  while (Date.now() - started < 30_000) {
    const response = await fetch(`${daniel.url}/logs?filter=${encodeURIComponent(marker)}&count=1000&since=0`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(response.status).toBe(200);
    entries = ((await response.json()) as { data: LogEntry[] }).data;
    if (entries.length >= count) return entries;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`only ${entries.length} of ${count} lines with ${marker} arrived: ${JSON.stringify(entries)}`);
}

/** Within ten minutes of now: the sender's clock, not a parse gone wrong. */
function expectRecent(timestamp: string): void {
  expect(Math.abs(Date.parse(timestamp) - Date.now())).toBeLessThan(600_000);
}

/** A test that needs `path`: fails under CI when missing, skipped elsewhere with the reason. */
function withSender(path: string, name: string, body: () => Promise<void>): void {
  const missing = missingSender(path);
  if (missing !== undefined && !CI) {
    test.skip(`${name} (skipped: ${missing})`, () => undefined);
    return;
  }
  test(name, async () => {
    if (missing !== undefined) throw new Error(missing);
    await body();
  });
}

const shortHost = hostname().split('.')[0] as string;

describe('logger (util-linux)', () => {
  withSender(LOGGER, 'TCP octet-counted RFC 5424 with structured data', async () => {
    const marker = `${RUN}-octet`;
    await logger(['--server', '127.0.0.1', '--port', String(ports.tcp), '--tcp', '--octet-count', '--rfc5424', '-t', 'lg5424', '-p', 'local3.err', '--msgid', 'M1', '--sd-id', 'test@32473', '--sd-param', 'k="v 1"', `${marker} first`]);
    await logger(['--server', '127.0.0.1', '--port', String(ports.tcp), '--tcp', '--octet-count', '--rfc5424', '-t', 'lg5424', '-p', 'local3.debug', `${marker} second`]);
    const entries = await linesWith(marker, 2);
    const first = entries.find((entry) => entry.logline === `${marker} first`);
    expect(first).toMatchObject({ filename: 'lg5424' });
    expect([hostname(), shortHost]).toContain(first?.host);
    expect(first?.fields).toMatchObject({ app: 'lg5424', facility: 'local3', level: 'error', msgid: 'M1', 'sd.test@32473.k': 'v 1' });
    expectRecent(first!.timestamp);
    expect(entries.find((entry) => entry.logline === `${marker} second`)?.fields?.level).toBe('debug');
  });

  withSender(LOGGER, 'TCP LF-framed RFC 3164, and a 30,000-byte message', async () => {
    const marker = `${RUN}-lf`;
    const long = `${marker} long ${'x'.repeat(30_000)}`;
    await logger(['-n', '127.0.0.1', '-P', String(ports.tcp), '-T', '--rfc3164', '-t', 'lg3164', '-i', '-p', 'daemon.warning', `${marker} short`]);
    await logger(['-n', '127.0.0.1', '-P', String(ports.tcp), '-T', '--rfc3164', '-t', 'lg3164', '--size', '40000', '-p', 'daemon.info', long]);
    const entries = await linesWith(marker, 2);
    const short = entries.find((entry) => entry.logline === `${marker} short`);
    expect(short).toMatchObject({ host: shortHost, filename: 'lg3164' });
    expect(short?.fields).toMatchObject({ app: 'lg3164', facility: 'daemon', level: 'warn' });
    expect(short?.fields?.procid).toMatch(/^\d+$/);
    expectRecent(short!.timestamp);
    expect(entries.find((entry) => entry.logline.startsWith(`${marker} long`))?.logline).toBe(long);
  });

  withSender(LOGGER, 'UDP', async () => {
    const marker = `${RUN}-udp`;
    await logger(['-n', '127.0.0.1', '-P', String(ports.udp), '-d', '-t', 'lgudp', '-p', 'user.info', `${marker} datagram`]);
    const [entry] = await linesWith(marker, 1);
    expect(entry).toMatchObject({ filename: 'lgudp', logline: `${marker} datagram` });
    expect(entry?.fields).toMatchObject({ facility: 'user', level: 'info' });
  });
});

describe('rsyslogd omfwd over TCP', () => {
  withSender(RSYSLOGD, 'traditional LF framing (RFC 3164) and octet-counted RFC 5424', async () => {
    const work = join(dir, 'rsyslog');
    execFileSync('mkdir', ['-p', work]);
    const marker = `${RUN}-rsyslog`;
    writeFileSync(join(work, 'a.log'), `${marker} traditional one\n${marker} traditional two\n`);
    writeFileSync(join(work, 'b.log'), `${marker} counted\n`);
    const running = rsyslogd(work, `
global(workDirectory="${work}" localHostName="rs-host")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="${work}/a.log" Tag="rsapp:" Facility="local3" Severity="warning" ruleset="traditional")
input(type="imfile" File="${work}/b.log" Tag="rs5424" Facility="mail" Severity="err" ruleset="counted")
ruleset(name="traditional") { action(type="omfwd" target="127.0.0.1" port="${ports.tcp}" protocol="tcp") }
ruleset(name="counted") {
  action(type="omfwd" target="127.0.0.1" port="${ports.tcp}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
`);
    daemons.push(running);
    const entries = await linesWith(marker, 3).catch((error: Error) => {
      throw new Error(`${error.message}\nrsyslogd: ${running.output()}`);
    });
    const traditional = entries.filter((entry) => entry.logline.includes('traditional'));
    expect(traditional.map((entry) => entry.logline).sort()).toEqual([`${marker} traditional one`, `${marker} traditional two`]);
    for (const entry of traditional) {
      expect(entry).toMatchObject({ host: 'rs-host', filename: 'rsapp' });
      expect(entry.fields).toMatchObject({ app: 'rsapp', facility: 'local3', level: 'warn' });
      expectRecent(entry.timestamp);
    }
    const counted = entries.find((entry) => entry.logline === `${marker} counted`);
    expect(counted).toMatchObject({ host: 'rs-host', filename: 'rs5424' });
    expect(counted?.fields).toMatchObject({ app: 'rs5424', facility: 'mail', level: 'error' });
    expectRecent(counted!.timestamp);
  });
});

describe('syslog-ng', () => {
  withSender(SYSLOG_NG, 'network() (RFC 3164 over TCP), syslog() (RFC 5424 octet-counted) and syslog() over TLS with a client certificate', async () => {
    const work = join(dir, 'syslog-ng');
    execFileSync('mkdir', ['-p', work]);
    const marker = `${RUN}-sng`;
    for (const name of ['network', 'syslog', 'tls']) writeFileSync(join(work, `${name}.log`), `${marker} via ${name}\n`);
    const source = (name: string): string =>
      `source s_${name} { file("${work}/${name}.log" flags(no-parse) follow-freq(0.2) program-override("sng-${name}") host-override("sng-host") default-facility(local5) default-priority(err)); };`;
    const running = syslogNg(work, `@version: 3.38
options { keep-hostname(yes); stats-freq(0); time-reopen(1); };
${source('network')}
${source('syslog')}
${source('tls')}
destination d_network { network("127.0.0.1" port(${ports.tcp}) transport("tcp") persist-name("d_network")); };
destination d_syslog { syslog("127.0.0.1" port(${ports.tcp}) transport("tcp") persist-name("d_syslog")); };
destination d_tls { syslog("127.0.0.1" port(${ports.tls}) transport("tls")
  tls(ca-file("${dir}/ca.pem") key-file("${dir}/client.key") cert-file("${dir}/client.pem") peer-verify(required-trusted))); };
log { source(s_network); destination(d_network); };
log { source(s_syslog); destination(d_syslog); };
log { source(s_tls); destination(d_tls); };
`);
    daemons.push(running);
    const entries = await linesWith(marker, 3).catch((error: Error) => {
      throw new Error(`${error.message}\nsyslog-ng: ${running.output()}`);
    });
    for (const name of ['network', 'syslog', 'tls']) {
      const entry = entries.find((candidate) => candidate.logline === `${marker} via ${name}`);
      expect(entry, name).toMatchObject({ host: 'sng-host', filename: `sng-${name}` });
      expect(entry?.fields, name).toMatchObject({ app: `sng-${name}`, facility: 'local5', level: 'error' });
      expectRecent(entry!.timestamp);
    }
  });
});

describe('the TLS listener', () => {
  test('refuses a sender without a client certificate and keeps serving', async () => {
    const refused = tlsConnect({ host: '127.0.0.1', port: ports.tls, ca: readFileSync(join(dir, 'ca.pem')), servername: 'localhost' });
    const outcome = await new Promise<string>((resolve) => {
      refused.on('error', (error) => resolve(`error: ${error.message}`));
      refused.on('secureConnect', () => {
        const message = `<13>1 - h app - - - ${RUN}-refused`;
        refused.write(`${Buffer.byteLength(message)} ${message}`);
        refused.on('close', () => resolve('closed'));
      });
    });
    expect(outcome).toMatch(/error|closed/);
    const marker = `${RUN}-tlsclient`;
    const accepted = tlsConnect({
      host: '127.0.0.1',
      port: ports.tls,
      ca: readFileSync(join(dir, 'ca.pem')),
      key: readFileSync(join(dir, 'client.key')),
      cert: readFileSync(join(dir, 'client.pem')),
      servername: 'localhost',
    });
    await new Promise((resolve, reject) => accepted.once('secureConnect', resolve).once('error', reject));
    const message = `<12>1 - tls-host tlsapp - - - ${marker}`;
    accepted.end(`${Buffer.byteLength(message)} ${message}`);
    const [entry] = await linesWith(marker, 1);
    expect(entry).toMatchObject({ host: 'tls-host', filename: 'tlsapp' });
    expect(entry?.fields?.level).toBe('warn');
    // The message after the accepted one is stored, the refused sender's is not.
    const none = await fetch(`${daniel.url}/logs?filter=${RUN}-refused&since=0`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(((await none.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
