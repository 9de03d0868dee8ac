/**
 * The package as users get it: `npm pack` of this checkout (after `npm run build`), then
 * `npm install -g --prefix TMP` of the tarball, then the installed `daniel` and `henrik`
 * bins run from TMP/bin: `daniel --version`, `henrik --help`, and a `daniel serve` that
 * answers /healthz and takes a line.
 *
 * better-sqlite3 and zstd-napi compile their native parts at install when no prebuilt binary
 * can be downloaded, which takes minutes on a small machine; so the install runs with
 * --ignore-scripts and the binaries this checkout built for the same versions and Node are
 * put in place (checked). `LA_PACK_FULL_INSTALL=1` lets npm build it instead (slow). Skipped,
 * saying why, only when the npm registry cannot be reached.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO } from '../lib/processes.js';

const run = promisify(execFile);
const FULL = process.env.LA_PACK_FULL_INSTALL === '1';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'la-npm-pack-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NETWORK = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network|offline/i;

test('npm pack gives a tarball that npm install -g installs with working daniel and henrik bins', async (context) => {
  expect(existsSync(join(REPO, 'dist', 'bin', 'daniel.js')), 'dist/ is missing: run npm run build first').toBe(true);
  const npm = { env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, maxBuffer: 64 * 1024 * 1024 };
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { ...npm, cwd: REPO });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  expect(files).toContain('dist/bin/daniel.js');
  expect(files).toContain('dist/bin/henrik.js');
  expect(files).toContain('ui-dist/index.html');
  // Only what runs: no tests, no sources, no fixtures.
  expect(files.filter((f) => /\.test\.|^src\/|^test\//.test(f))).toEqual([]);

  const prefix = join(dir, 'prefix');
  try {
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', ...(FULL ? [] : ['--ignore-scripts']), join(dir, info!.filename)], { ...npm, cwd: dir, timeout: FULL ? 900_000 : 80_000 });
  } catch (error) {
    const text = `${(error as { stderr?: string }).stderr ?? ''} ${(error as Error).message}`;
    if (NETWORK.test(text)) {
      console.warn(`npm-pack test skipped: the npm registry cannot be reached (${text.split('\n').find((line) => NETWORK.test(line))?.trim()})`);
      context.skip();
    }
    throw error;
  }
  const installed = join(prefix, 'lib', 'node_modules', 'logging-aggregator');
  if (!FULL) {
    const version = async (at: string): Promise<string> => (JSON.parse(await readFile(join(at, 'package.json'), 'utf8')) as { version: string }).version;
    for (const [pkg, addon] of [['better-sqlite3', 'better_sqlite3.node'], ['zstd-napi', 'binding.node']] as const) {
      const ours = join(REPO, 'node_modules', pkg);
      const theirs = join(installed, 'node_modules', pkg);
      expect(await version(theirs)).toBe(await version(ours));
      const binary = join('build', 'Release', addon);
      await mkdir(dirname(join(theirs, binary)), { recursive: true });
      await copyFile(join(ours, binary), join(theirs, binary));
    }
  }

  // The bins as a user runs them: through their shebangs, node found on the PATH.
  const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, DANIEL_TOKENS: undefined, DANIEL_DATA_DIR: undefined };
  const version = await run(join(prefix, 'bin', 'daniel'), ['--version'], { env });
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const help = await run(join(prefix, 'bin', 'henrik'), ['--help'], { env });
  expect(help.stdout).toMatch(/^Usage: henrik/);

  const dataDir = join(dir, 'data');
  const daniel = spawn(join(prefix, 'bin', 'daniel'), ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    let err = '';
    daniel.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    daniel.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    for (let i = 0; i < 300 && !/listening on /.test(out) && daniel.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const url = /listening on (http:\S+)/.exec(out)?.[1];
    expect(url, `stdout: ${out}\nstderr: ${err}`).toBeDefined();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
    const body = { host: 'packed', files: [{ file_id: 'p1', filename: 'p.log', lines: [{ offset: 0, timestamp: '1000', line: 'from the installed package' }] }] };
    const ingest = await fetch(`${url}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(await ingest.json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    // The web UI's files are in the package too.
    expect((await fetch(`${url}/`)).status).toBe(200);
  } finally {
    daniel.kill('SIGTERM');
  }
}, 120_000);
