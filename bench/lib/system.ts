/**
 * The real processes under test: Daniel (`node dist/bin/daniel.js serve`), Henrik
 * (`node dist/bin/henrik.js`) and the null sink, each started by pid and stopped by pid.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { danielNodeArgs } from '../../test/lib/processes.js';
import { danielBin, henrikBin, repoRoot } from './paths.js';
import { startProcess, type Proc } from './proc.js';
import { profileArgs } from './profile.js';

export interface Server {
  proc: Proc;
  url: string;
}

export interface DanielOptions {
  dataDir: string;
  token: string;
  store?: 'sqlite' | 'dynamodb';
  extraArgs?: string[];
  env?: Record<string, string>;
  cpus?: string;
  /** Where `--profile` puts this process's CPU profile (bench/.work/profiles/<name>). */
  profileName?: string;
}

const LISTENING = /listening on (https?:\/\/\S+)/;

export function danielCommand(options: DanielOptions): string[] {
  return ['serve', '--listen', '127.0.0.1:0', '--data-dir', options.dataDir, '--store', options.store ?? 'sqlite', ...(options.extraArgs ?? [])];
}

export async function startDaniel(options: DanielOptions): Promise<Server> {
  if (!existsSync(danielBin)) throw new Error(`${path.relative(repoRoot, danielBin)} is missing: run npm run build`);
  const nodeArgs = profileArgs(options.profileName ?? 'daniel');
  // The command line is the tests' (test/lib/processes.ts); startProcess adds CPU pinning and the process-tree stop.
  const proc = startProcess('daniel', process.execPath, [...nodeArgs, ...danielNodeArgs('dist'), ...danielCommand(options)], {
    env: { DANIEL_TOKENS: `admin:${options.token}`, ...options.env },
    cpus: options.cpus,
  });
  try {
    const match = await proc.waitFor(LISTENING, 30_000);
    const url = match[1]!.replace(/\/+$/, '');
    return { proc, url };
  } catch (error) {
    await proc.stop(2000);
    throw error;
  }
}

export interface HenrikOptions {
  server: string;
  token: string;
  host: string;
  stateDir: string;
  globs: string[];
  once?: boolean;
  cpus?: string;
  profileName?: string;
}

export function henrikArgs(options: HenrikOptions): string[] {
  return [
    '--server',
    options.server,
    '--token',
    options.token,
    '--host',
    options.host,
    '--state-dir',
    options.stateDir,
    ...(options.once === false ? [] : ['--once']),
    ...options.globs,
  ];
}

export function startHenrik(options: HenrikOptions): Proc {
  if (!existsSync(henrikBin)) throw new Error(`${path.relative(repoRoot, henrikBin)} is missing: run npm run build`);
  // Naive times in the generated lines are UTC (see formats.ts).
  const nodeArgs = profileArgs(options.profileName ?? 'henrik');
  return startProcess(`henrik ${options.host}`, process.execPath, [...nodeArgs, henrikBin, ...henrikArgs(options)], { env: { TZ: 'UTC' }, cpus: options.cpus });
}

export async function startSink(cpus?: string): Promise<Server> {
  const proc = startProcess('null sink', process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'lib', 'null-sink.ts')], { cpus, cwd: repoRoot });
  const match = await proc.waitFor(LISTENING, 30_000);
  return { proc, url: match[1]! };
}

export interface SinkStats {
  requests: number;
  lines: number;
  wireBytes: number;
  bodyBytes: number;
  firstAt: number;
  lastAt: number;
}

export async function sinkStats(sink: Server): Promise<SinkStats> {
  const response = await fetch(`${sink.url}/stats`);
  return (await response.json()) as SinkStats;
}

export async function resetSink(sink: Server): Promise<void> {
  await (await fetch(`${sink.url}/reset`, { method: 'POST' })).text();
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** A warning when dist/ is missing or older than src/: the bench runs the built bins. */
export function buildWarning(): string | undefined {
  if (!existsSync(danielBin) || !existsSync(henrikBin)) return 'dist/bin is missing: run `npm run build` first';
  const built = Math.min(statSync(danielBin).mtimeMs, statSync(henrikBin).mtimeMs);
  if (newestMtime(path.join(repoRoot, 'src')) > built) return 'src/ has changes newer than dist/: run `npm run build` to measure them';
  return undefined;
}

/** Bytes a directory takes on disk (allocated blocks), recursively. */
export function diskBytes(dir: string): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += diskBytes(full);
    else if (entry.isFile()) total += statSync(full).blocks * 512;
  }
  return total;
}

/** Bytes of the files' contents (apparent size), recursively. */
export function apparentBytes(dir: string): number {
  let total = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += apparentBytes(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}
