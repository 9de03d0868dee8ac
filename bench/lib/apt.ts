/**
 * Installs the peer tools the baselines need (syslog-ng, ripgrep) with apt-get when they are
 * missing; when that cannot be done the caller reports the baseline as not measured.
 */
import { spawnSync } from 'node:child_process';
import { which } from './proc.js';

export interface ToolStatus {
  path?: string;
  /** Why it is missing, or what was done to get it. */
  note: string;
}

let updated = false;

function aptGet(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
    encoding: 'utf8',
  });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ') };
}

/** Packages dpkg does not list as installed (none when dpkg-query is not there to ask). */
function missingPackages(packages: string[]): string[] {
  if (!which('dpkg-query')) return [];
  return packages.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f', '${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

/** Returns the program's path, installing `packages` first when it or one of them is missing. */
export function ensureTool(program: string, packages: string[], log: (msg: string) => void): ToolStatus {
  const found = which(program);
  if (found && missingPackages(packages).length === 0) return { path: found, note: `found ${found}` };
  if (!which('apt-get')) return { note: `${program} is not installed and apt-get is not available` };
  if (process.getuid?.() !== 0) return { note: `${program} is not installed; run as root (or install ${packages.join(' ')}) to measure it` };
  log(`installing ${packages.join(' ')} with apt-get`);
  let attempt = aptGet(['install', '-y', '--no-install-recommends', ...packages]);
  if (!attempt.ok && !updated) {
    updated = true;
    aptGet(['update']);
    attempt = aptGet(['install', '-y', '--no-install-recommends', ...packages]);
  }
  const installed = which(program);
  if (installed) return { path: installed, note: `installed ${packages.join(' ')} with apt-get` };
  return { note: `apt-get install ${packages.join(' ')} failed: ${attempt.output}` };
}
