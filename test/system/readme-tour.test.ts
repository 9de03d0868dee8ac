/**
 * The README's field-query tour, run as pasted against a real Daniel: the shell block under
 * "Structured lines are searchable by their fields" with only the address and token put in.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO, serveDaniel, type ServedDaniel } from '../lib/processes.js';

let daniel: ServedDaniel;

beforeAll(async () => {
  daniel = await serveDaniel({ from: 'dist' });
}, 60_000);

afterAll(async () => {
  await daniel?.stop();
});

/** The curl commands of the block after `marker`, each whole (quotes and `\` continuations span lines). */
function tourCommands(marker: string): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const after = readme.slice(readme.indexOf(marker));
  const block = /```sh\n([\s\S]*?)```/.exec(after)?.[1] ?? '';
  return ('\n' + block)
    .split('\ncurl ')
    .slice(1)
    .map((command) => 'curl ' + command.split('\n').filter((line) => !line.startsWith('npx ')).join('\n').trim());
}

it("the README's field queries work as pasted", () => {
  const commands = tourCommands('Structured lines are searchable by their fields');
  expect(commands.length).toBeGreaterThanOrEqual(5);
  const token = readFileSync(join(daniel.dataDir, 'token'), 'utf8').trim();
  const run = (command: string): string =>
    execFileSync('bash', ['-c', command.replaceAll('http://127.0.0.1:3032', daniel.url)], { env: { ...process.env, TOKEN: token }, encoding: 'utf8' });
  const [ingest, errors, either, fields, values] = commands.map(run);
  expect(JSON.parse(ingest!)).toEqual({ data: { accepted: 3, duplicates: 0 } });
  const lines = (body: string): string[] => (JSON.parse(body) as { data: { logline: string }[] }).data.map((entry) => entry.logline);
  expect(lines(errors!)).toEqual(['{"level":"error","msg":"db timeout","status":503,"path":"/orders"}', 'ERROR payment declined user=42'].reverse());
  expect(lines(either!).sort()).toEqual(['ERROR payment declined user=42', '{"level":"error","msg":"db timeout","status":503,"path":"/orders"}']);
  const names = (JSON.parse(fields!) as { data: { name: string }[] }).data.map((field) => field.name);
  expect(names).toEqual(expect.arrayContaining(['service', 'level', 'status', 'path', 'msg', 'user', 'host', 'file']));
  expect((JSON.parse(values!) as { data: { value: string; lines: number }[] }).data).toEqual([
    { value: 'error', lines: 2 },
    { value: 'info', lines: 1 },
  ]);
});
