/**
 * `daniel serve --config FILE` as a real process: settings from the YAML file, flags over
 * it, a bad file refused with exit 2 naming the key, and SIGHUP reading the file again
 * (live settings applied, restart-only ones named, a broken file keeping what runs).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDaniel, startDaniel } from '../lib/processes.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const status = async (url: string, path: string, token: string): Promise<number> => (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 300 && !what(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(what(), label).toBe(true);
}

test('settings come from the file (paths relative to it), flags win over it; SIGHUP applies the live ones, names the others, and a broken file changes nothing', async () => {
  const config = join(dir, 'daniel.yaml');
  await writeFile(join(dir, 'tokens'), 'admin:first-admin-token\n');
  await writeFile(
    config,
    ['# Daniel for the config test', 'listen: 127.0.0.1:1', 'dataDir: data', 'tokensFile: tokens', 'logLevel: warn', 'maxConnections: 64', ''].join('\n'),
  );
  // --listen on the command line wins over the file's port 1.
  const server = startDaniel(['serve', '--config', config, '--listen', '127.0.0.1:0']);
  try {
    const [, url] = await server.waitFor(/^listening on (http:\S+)$/m);
    expect(server.stdout()).toContain('tokens: 1 configured');
    expect(await status(url!, '/hosts/', 'first-admin-token')).toBe(200);

    // A new token in the tokens file, a new log level and a restart-only change in the config file.
    await writeFile(join(dir, 'tokens'), 'admin:second-admin-token\n');
    await writeFile(config, ['listen: 127.0.0.1:1', 'dataDir: data', 'tokensFile: tokens', 'logLevel: debug', 'maxConnections: 128', ''].join('\n'));
    server.child.kill('SIGHUP');
    await until(() => /reloaded: tokens/.test(server.stdout()), 'reloaded');
    expect(server.stdout()).toContain('log level debug');
    await until(() => /takes effect at the next restart: maxConnections/.test(server.stderr()), 'restart-only named');
    expect(server.stderr()).not.toMatch(/restart: .*listen/); // the flag still wins over the file
    expect(await status(url!, '/hosts/', 'second-admin-token')).toBe(200);
    expect(await status(url!, '/hosts/', 'first-admin-token')).toBe(401);

    // A broken file: the reload fails, says why, and the running settings stay.
    await writeFile(join(dir, 'tokens'), 'admin:third-admin-token\n');
    await writeFile(config, 'tokensFile: tokens\nmaxQuries: 3\n');
    server.child.kill('SIGHUP');
    await until(() => /reload failed, the running settings stay: unknown setting 'maxQuries'/.test(server.stderr()), 'reload failed');
    expect(server.stderr()).toContain('(did you mean maxQueries?)');
    expect(await status(url!, '/hosts/', 'second-admin-token')).toBe(200);
    expect(await status(url!, '/hosts/', 'third-admin-token')).toBe(401);

    server.child.kill('SIGTERM');
    expect(await server.exited()).toBe(0);
  } finally {
    server.child.kill('SIGKILL');
  }
}, 90_000);

test('an unknown key, a bad value or a missing file: exit 2, one line naming the key and the file', async () => {
  const cases: [string, RegExp][] = [
    ['data-dir: /tmp/x\n', /daniel: unknown setting 'data-dir' in \S+bad\.yaml \(did you mean dataDir\?\)/],
    ['retention: forever\n', /daniel: 'retention' in \S+bad\.yaml 'forever' must be a duration/],
  ];
  for (const [text, message] of cases) {
    await writeFile(join(dir, 'bad.yaml'), text);
    const run = await runDaniel(['serve', '--config', join(dir, 'bad.yaml'), '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'bad-data')]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).not.toMatch(/listening/);
  }
  const missing = await runDaniel(['serve', '--listen', '127.0.0.1:0'], { DANIEL_CONFIG: join(dir, 'none.yaml') });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--config \S+none\.yaml cannot be read: ENOENT/);
}, 90_000);
