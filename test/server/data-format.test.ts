/**
 * The data format of a data dir, through real `daniel` processes: a data dir written by the
 * release before the format was recorded (test/fixtures/data-format-0, made by that
 * release's code with make.sh there) is upgraded at start and read back whole; a data dir or
 * a backup of a newer format is refused with exit 2 and what to run.
 */
import Database from 'better-sqlite3';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DATA_FORMAT_VERSION } from '../../src/common/data-format.js';
import { REPO, runDaniel, startDaniel } from '../lib/processes.js';

const FIXTURE = join(REPO, 'test', 'fixtures', 'data-format-0');
const READ_TOKEN = 'dnl_format0-fixture-read-token';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-format-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The fixture's lines arrived in 2025: a long retention keeps the sweep at start from deleting them.
async function oldDataDir(name: string): Promise<string> {
  const dataDir = join(dir, name);
  await mkdir(dataDir, { mode: 0o700 });
  for (const db of ['daniel.db', 'tokens.db']) await writeFile(join(dataDir, db), gunzipSync(await readFile(join(FIXTURE, `${db}.gz`))), { mode: 0o600 });
  return dataDir;
}

function formatOf(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

test("a data dir of the release before the format was recorded is upgraded at start and read back whole, its managed token too", async () => {
  const dataDir = await oldDataDir('old');
  expect(formatOf(join(dataDir, 'daniel.db'))).toBe(0);
  const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--retention', '36500d'], { DANIEL_TOKENS: 'admin:format-test-admin-token' });
  try {
    const [, url] = await server.waitFor(/^listening on (http:\S+)$/m);
    expect(server.stdout()).toMatch(/data format upgraded: 0 -> 1.*1 -> 2.*2 -> 3.*3 -> 4/s);
    const get = async (path: string, token = 'format-test-admin-token') => {
      const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status, path).toBe(200);
      return ((await response.json()) as { data: unknown }).data;
    };
    expect((await get('/hosts/')) as { host: string }[]).toEqual([expect.objectContaining({ host: 'db1', lines: 1 }), expect.objectContaining({ host: 'web1', lines: 5 })]);
    const lines = (await get('/logs?order=asc&count=100&since=2025-12-01T00:00:00Z')) as { host: string; filename: string; offset: number; logline: string }[];
    expect(lines.map((l) => `${l.host} ${l.filename}@${l.offset} ${l.logline}`).sort()).toEqual([
      'web1 syslog@0 Dec  2 00:00:00 web1 cron[1]: started',
      'web1 app/app.log@0 2025-12-02T00:00:00Z INFO app started',
      'web1 syslog@38 Dec  2 00:00:01 web1 sshd[2]: Accepted publickey for deploy',
      'web1 app/app.log@38 2025-12-02T00:00:01Z ERROR db timeout after 5s',
      'web1 syslog@98 Dec  2 00:00:02 web1 kernel: eth0 link up',
      'db1 postgresql.log@0 LOG:  database system is ready to accept connections',
    ].sort());
    // The managed read token of the old tokens.db still works, still bound to its host.
    expect(((await get('/hosts/web1/logs?count=1', READ_TOKEN)) as unknown[]).length).toBe(1);
    expect((await fetch(`${url}/hosts/db1/logs`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).status).toBe(403);
    server.child.kill('SIGTERM');
    expect(await server.exited()).toBe(0);
  } finally {
    server.child.kill('SIGKILL');
  }
  expect(formatOf(join(dataDir, 'daniel.db'))).toBe(DATA_FORMAT_VERSION);
  expect(formatOf(join(dataDir, 'tokens.db'))).toBe(DATA_FORMAT_VERSION);
  // A second start has nothing to upgrade.
  const again = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--retention', '36500d'], { DANIEL_TOKENS: 'admin:format-test-admin-token' });
  await again.waitFor(/^listening on /m);
  expect(again.stdout()).not.toMatch(/upgraded/);
  again.child.kill('SIGTERM');
  expect(await again.exited()).toBe(0);
}, 90_000);

test('a data dir or a backup of a newer format is refused: exit 2, the file, the versions and what to run; nothing is changed', async () => {
  const dataDir = await oldDataDir('newer');
  const file = join(dataDir, 'daniel.db');
  const db = new Database(file);
  db.pragma(`user_version = ${DATA_FORMAT_VERSION + 1}`);
  db.close();
  const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--retention', '36500d'], { DANIEL_TOKENS: 'admin:format-test-admin-token' });
  expect(await server.exited()).toBe(2);
  expect(server.stderr()).toContain(`${file} holds data format ${DATA_FORMAT_VERSION + 1}, written by a newer Daniel; this Daniel reads formats up to ${DATA_FORMAT_VERSION}`);
  expect(server.stderr()).toMatch(/npm install -g logging-aggregator@latest.*daniel restore FILE --data-dir NEW_DIR/);
  expect(server.stdout()).not.toMatch(/listening/);
  expect(formatOf(file)).toBe(DATA_FORMAT_VERSION + 1);

  const restore = await runDaniel(['restore', file, '--data-dir', join(dir, 'restored')]);
  expect(restore.code).toBe(2);
  expect(restore.stderr).toContain('written by a newer Daniel');
}, 60_000);
