/**
 * Real syslog senders for the tests: util-linux `logger`, syslog-ng and rsyslogd, each run as
 * its own process with its own config, pid and state files in a temporary directory (never
 * the system's). rsyslogd comes from .cache/rsyslog (unpacked there by .ci/run, since its
 * package conflicts with syslog-ng's). Without a sender the test fails under CI=true and is
 * skipped elsewhere with the reason.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

export const RSYSLOGD = join(REPO, '.cache/rsyslog/usr/sbin/rsyslogd');
const RSYSLOG_MODULES = join(REPO, '.cache/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog');
export const SYSLOG_NG = ['/usr/sbin/syslog-ng', '/usr/bin/syslog-ng'].find((path) => existsSync(path)) ?? '/usr/sbin/syslog-ng';
export const LOGGER = ['/usr/bin/logger', '/bin/logger'].find((path) => existsSync(path)) ?? '/usr/bin/logger';

/** Why a sender cannot run here, or undefined when it can. */
export function missingSender(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  return `${path} not found: .ci/run installs it (syslog-ng-core, util-linux; rsyslog unpacked into .cache/rsyslog)`;
}

/** util-linux logger with these arguments (it exits once sent). */
export async function logger(args: string[]): Promise<void> {
  await run(LOGGER, args, { timeout: 20_000 });
}

export interface Daemon {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Run as root (CI containers), a sender is started as nobody through setpriv, so it runs
 * unprivileged as it would anywhere; its directory is opened to it.
 */
function unprivileged(command: string, args: string[], dir: string): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  chmodSync(dir, 0o777);
  return ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', command, ...args]];
}

function daemon(dir: string, command: string, args: string[]): Daemon {
  const [file, argv] = unprivileged(command, args, dir);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** syslog-ng in the foreground with `config` (a full configuration), state files in `dir`. */
export function syslogNg(dir: string, config: string): Daemon {
  const file = join(dir, 'syslog-ng.conf');
  writeFileSync(file, config);
  return daemon(dir, SYSLOG_NG, [
    '--foreground',
    '--no-caps',
    '--stderr',
    `--cfgfile=${file}`,
    `--pidfile=${join(dir, 'syslog-ng.pid')}`,
    `--persist-file=${join(dir, 'syslog-ng.persist')}`,
    `--control=${join(dir, 'syslog-ng.ctl')}`,
  ]);
}

/** rsyslogd in the foreground with `config`, its modules from .cache/rsyslog. */
export function rsyslogd(dir: string, config: string): Daemon {
  const file = join(dir, 'rsyslog.conf');
  writeFileSync(file, config);
  return daemon(dir, RSYSLOGD, ['-n', '-f', file, '-i', join(dir, 'rsyslogd.pid'), '-M', RSYSLOG_MODULES]);
}
