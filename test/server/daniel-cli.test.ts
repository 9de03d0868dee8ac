import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LogEntry } from '../../src/protocol/api.js';
import { andynewmanBatch, ingest, startTestApp, TOKENS, type TestApp } from './helpers.js';
import { runDaniel, startDaniel } from '../lib/processes.js';

let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await startTestApp();
  url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  await ingest(t.app, andynewmanBatch());
  const evil = await ingest(t.app, {
    host: 'evil',
    files: [{ file_id: 'e', filename: 'term.log', lines: [{ offset: 0, timestamp: '1639508070000000000', line: '\u001b[31mred\u001b[0m and \u0007 bell' }] }],
  });
  expect(evil.statusCode).toBe(200);
  let offset = 0;
  const many = Array.from({ length: 10_050 }, (_, i) => {
    const line = { offset, timestamp: String(1_600_000_000_000_000_000n + BigInt(i) * 1_000_000n), line: `many ${i}` };
    offset += 20;
    return line;
  });
  await ingest(t.app, { host: 'many', files: [{ file_id: 'm', filename: 'm.log', lines: many }] });
}, 60_000);

afterAll(async () => {
  await t.close();
});

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runDaniel(args, { DANIEL_URL: url, DANIEL_TOKEN: TOKENS.read, ...env });

describe('daniel hosts / files / logs', () => {
  test('hosts and files as text and json', async () => {
    const hosts = await cli(['hosts']);
    expect(hosts.code).toBe(0);
    expect(hosts.stdout).toMatch(/^HOST\s+LAST SEEN\s+LINES\s+BYTES$/m);
    expect(hosts.stdout).toMatch(/^andynewman\s+\S+\s+6\s+90$/m);
    const json = await cli(['hosts', '--output', 'json']);
    expect(JSON.parse(json.stdout).map((h: { host: string }) => h.host)).toEqual(['andynewman', 'evil', 'many']);
    const files = await cli(['files', 'andynewman', '--output', 'ndjson']);
    expect(files.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { filename: string }).filename).sort()).toEqual(['fsck_apfs_error.log', 'other_log', 'syslog']);
    const text = await cli(['files', 'andynewman']);
    expect(text.stdout).toMatch(/^fsck_apfs_error\.log\s+\S+\s+2\s+43\s+15\s+\/var\/log\/fsck_apfs_error\.log$/m);
  }, 60_000);

  test('logs of one host, newest first, marking host and file', async () => {
    const result = await cli(['logs', 'andynewman', '--count', '3']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        '2021-12-14T18:54:20Z andynewman other_log: other line',
        '2021-12-14T18:54:14Z andynewman syslog: Line three with ERROR',
        '2021-12-14T18:54:13Z andynewman syslog: Line two',
        '',
      ].join('\n'),
    );
  }, 30_000);

  test('filters: --filter, -i, --regex, --file, --since', async () => {
    const lines = async (args: string[]) => (await cli(['logs', 'andynewman', '--output', 'ndjson', ...args])).stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LogEntry).logline);
    expect(await lines(['--filter', 'ERROR'])).toEqual(['Line three with ERROR']);
    expect(await lines(['--filter', 'error', '-i', '--file', 'syslog'])).toEqual(['Line three with ERROR']);
    expect(await lines(['--regex', '^Line (one|two)$'])).toEqual(['Line two', 'Line one']);
    expect(await lines(['--file', 'other_log', '--file', 'fsck_apfs_error.log', '--filter', 'other'])).toEqual(['other line']);
    expect(await lines(['--since', '2021-12-14T18:54:14Z'])).toEqual(['other line', 'Line three with ERROR']);
  }, 60_000);

  test('-q queries, --fields shows fields, and daniel fields explores them', async () => {
    await ingest(t.app, {
      host: 'structured',
      files: [
        {
          file_id: 's',
          filename: 'app.log',
          lines: [
            { offset: 0, timestamp: '1639508080000000000', line: '{"level":"error","service":"api","status":503,"msg":"upstream down"}' },
            { offset: 100, timestamp: '1639508081000000000', line: 'level=info service=web status=200 msg="GET /healthz"' },
            { offset: 200, timestamp: '1639508082000000000', line: '2021-12-14 18:54:42 WARN [api] slow request took_ms=1500' },
          ],
        },
      ],
    });
    const q = await cli(['logs', 'structured', '-q', 'status:>=500 OR level:warn', '--fields']);
    expect(q.code).toBe(0);
    expect(q.stdout).toContain('structured app.log: 2021-12-14 18:54:42 WARN [api] slow request took_ms=1500\n    took_ms=1500 level=warn\n');
    expect(q.stdout).toContain('    level=error service=api status=503 msg="upstream down"\n');
    expect(q.stdout).not.toContain('healthz');
    const names = await cli(['fields', '-q', 'host:structured']);
    expect(names.code).toBe(0);
    expect(names.stdout).toMatch(/^FIELD\s+LINES$/m);
    expect(names.stdout).toMatch(/^level\s+3$/m);
    expect(names.stdout).toMatch(/^status\s+2$/m);
    const values = await cli(['fields', 'level', '--host', 'structured', '--output', 'json']);
    expect(JSON.parse(values.stdout)).toEqual([
      { value: 'error', lines: 1 },
      { value: 'info', lines: 1 },
      { value: 'warn', lines: 1 },
    ]);
    const bad = await cli(['logs', '-q', '(oops']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('INVALID_QUERY');
  }, 60_000);

  test('control characters and ANSI escapes in content are shown escaped, never raw', async () => {
    const result = await cli(['logs', 'evil']);
    expect(result.stdout).toContain('evil term.log: \\x1b[31mred\\x1b[0m and \\x07 bell');
    expect(result.stdout).not.toContain('\u001b');
  }, 30_000);

  test('--context N shows the lines around each hit', async () => {
    const result = await cli(['logs', 'andynewman', '--filter', 'Line two', '--context', '1']);
    expect(result.stdout).toBe(
      [
        '2021-12-14T18:54:12.0629189Z andynewman syslog- Line one',
        '2021-12-14T18:54:13Z andynewman syslog: Line two',
        '2021-12-14T18:54:14Z andynewman syslog- Line three with ERROR',
        '',
      ].join('\n'),
    );
  }, 30_000);

  test('--count beyond one page follows next without repeats', async () => {
    const result = await cli(['logs', 'many', '--count', '10020', '--output', 'json']);
    expect(result.code).toBe(0);
    const entries = JSON.parse(result.stdout) as LogEntry[];
    expect(entries).toHaveLength(10_020);
    expect(new Set(entries.map((e) => e.logline)).size).toBe(10_020);
    expect(entries[0]!.logline).toBe('many 10049');
  }, 60_000);

  test('the token comes from --token, DANIEL_TOKEN or the data dir token file', async () => {
    const dataDir = t.dataDir;
    await writeFile(join(dataDir, 'token'), `${TOKENS.read}\n`);
    expect((await cli(['hosts', '--data-dir', dataDir], { DANIEL_TOKEN: undefined })).code).toBe(0);
    expect((await cli(['hosts', '--token', TOKENS.admin], { DANIEL_TOKEN: 'wrong-token-xyz' })).code).toBe(0);
  }, 60_000);

  test('exit codes: 1 API error with code and message, 2 usage, 3 cannot connect', async () => {
    const unknown = await cli(['logs', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/HOST_NOT_FOUND: .*nobody/);
    const unauthorized = await cli(['hosts'], { DANIEL_TOKEN: 'wrong-token-xyz' });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toContain('UNAUTHORIZED');
    const badRegex = await cli(['logs', '--regex', '(a)\\1']);
    expect(badRegex.code).toBe(1);
    expect(badRegex.stderr).toContain('INVALID_REGEX');
    for (const args of [['logs', '--count', 'x'], ['logs', '--output', 'xml'], ['files'], ['nonsense'], ['logs', '--follow', '--context', '2']]) {
      expect((await cli(args)).code, args.join(' ')).toBe(2);
    }
    const refused = await cli(['hosts', '--server', 'http://127.0.0.1:9']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('cannot connect');
  }, 120_000);

  test('--follow prints new lines as they arrive and exits 0 on SIGTERM', async () => {
    const follower = startDaniel(['logs', 'live', '--follow', '--filter', 'wanted'], { DANIEL_URL: url, DANIEL_TOKEN: TOKENS.read });
    let offset = 0;
    const send = async (line: string) => {
      await ingest(t.app, { host: 'live', files: [{ file_id: 'l', filename: 'live.log', lines: [{ offset, timestamp: String(1_700_000_000_000_000_000n + BigInt(offset)), line }] }] });
      offset += line.length + 1;
    };
    await send('first line before the follower');
    // The follower starts at "now": keep writing until it has connected and printed one.
    let attempt = 0;
    for (;;) {
      await send(`wanted ${attempt}`);
      await send(`skipped ${attempt}`);
      try {
        await follower.waitFor(/wanted \d+\n/, 1000);
        break;
      } catch (error) {
        attempt += 1;
        if (attempt > 30) throw error;
      }
    }
    await send('wanted \u001b[1mbold');
    await follower.waitFor(/wanted \\x1b\[1mbold\n/, 10_000);
    expect(follower.stdout()).not.toContain('skipped');
    expect(follower.stdout()).toMatch(/^\S+ live live\.log: wanted \d+$/m);
    follower.child.kill('SIGTERM');
    expect(await follower.exited()).toBe(0);
  }, 90_000);
});

describe('daniel logs --follow backlog', () => {
  test('prints the newest lines first (10, or --count), oldest of them first, then new ones, each once', async () => {
    let offset = 0;
    const send = async (lines: string[]) => {
      const batch = lines.map((line) => {
        const entry = { offset, timestamp: String(1_710_000_000_000_000_000n + BigInt(offset) * 1000n), line };
        offset += line.length + 1;
        return entry;
      });
      const answer = await ingest(t.app, { host: 'tailf', files: [{ file_id: 't', filename: 'tail.log', lines: batch }] });
      expect(answer.statusCode).toBe(200);
    };
    await send(Array.from({ length: 15 }, (_, i) => `old ${i}`));
    const env = { DANIEL_URL: url, DANIEL_TOKEN: TOKENS.read };
    const byDefault = startDaniel(['logs', 'tailf', '--follow'], env);
    const three = startDaniel(['logs', 'tailf', '--follow', '--count', '3', '--output', 'ndjson'], env);
    // Sent while the followers start: each must print it once, from the backlog or the tail.
    await send(['racing']);
    await byDefault.waitFor(/old 14\n/, 20_000);
    await three.waitFor(/old 14"/, 20_000);
    await send(['new 0', 'new 1']);
    await byDefault.waitFor(/new 1\n/, 20_000);
    await three.waitFor(/new 1"/, 20_000);
    // The backlog holds 'racing' when it was stored before the backlog was read (then one old
    // line fewer); either way the order is old lines, racing, the new ones, none twice.
    const expectShape = (lines: string[], backlog: number): void => {
      expect(lines.slice(-3)).toEqual(['racing', 'new 0', 'new 1']);
      const olds = lines.slice(0, -3);
      expect([backlog - 1, backlog]).toContain(olds.length);
      expect(olds).toEqual(Array.from({ length: olds.length }, (_, i) => `old ${15 - olds.length + i}`));
    };
    expectShape(byDefault.stdout().trim().split('\n').map((line) => line.replace(/^\S+ tailf tail\.log: /, '')), 10);
    expectShape(three.stdout().trim().split('\n').map((line) => (JSON.parse(line) as LogEntry).logline), 3);
    for (const follower of [byDefault, three]) {
      follower.child.kill('SIGTERM');
      expect(await follower.exited()).toBe(0);
    }
    expect((await cli(['logs', 'tailf', '--count', '0'])).code).toBe(2);
  }, 90_000);
});

describe('daniel --help', () => {
  test('lists every command, canary and create-table included, and each has its own help', async () => {
    const help = await runDaniel(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'hosts', 'files', 'logs', 'canary', 'create-table']) expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    const serve = await runDaniel(['serve', '--help']);
    for (const flag of ['--dynamodb-shards', '--log-level', '--log-requests', '--shutdown-grace']) expect(serve.stdout).toContain(flag);
    expect((await runDaniel(['create-table', '--help'])).code).toBe(0);
    expect((await runDaniel(['canary', '--help'])).code).toBe(0);
  }, 60_000);
});
