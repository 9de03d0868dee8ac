import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { EventLog } from './events.js';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DeadLetters, readDeadLetters } from './dead-letter.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-dead-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const request = (n: number) => ({ host: 'h', files: [{ file_id: 'f', filename: 'a.log', lines: [{ offset: n, timestamp: '1', line: `line ${n} ${'x'.repeat(200)}` }] }] });

it('is bounded: past maxBytes the file moves to .1 (the older .1 goes), and says so', async () => {
  const events = new EventLog();
  const dead = new DeadLetters({ stateDir: dir, maxBytes: 4096, log: events.log });
  for (let i = 0; i < 100; i++) await dead.write({ status: 422, reason: 'HTTP 422 INVALID_BODY: no', request: request(i) });
  const file = path.join(dir, 'dead-letter.ndjson');
  expect(statSync(file).size).toBeLessThanOrEqual(4096);
  expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(4096);
  expect(dead.lines).toBe(100);
  // The .1 it replaced was lost, and it says so.
  expect(events.named('dead_letter_rotated').some((e) => typeof e.fields.lost_bytes === 'number' && e.fields.lost_bytes > 0)).toBe(true);
  const { entries } = await readDeadLetters(file);
  expect(entries.at(-1)?.request).toEqual(request(99));
  expect(entries.at(-1)?.lines).toBe(1);
});

it('logs the first refusal at once, then a summary at most every interval while refusals go on, never once per status only', async () => {
  const events = new EventLog();
  const dead = new DeadLetters({ stateDir: dir, logIntervalMs: 60_000, log: events.log });
  for (let i = 0; i < 5; i++) await dead.write({ status: 422, reason: 'HTTP 422 X: no', request: request(i) });
  expect(events.named('dead_lettered')).toHaveLength(1);
  dead.maybeLog(Date.now() + 61_000);
  const said = events.named('dead_lettered');
  expect(said).toHaveLength(2);
  expect(said[1]!.fields).toMatchObject({ dead_lettered_lines: 5, new: 4, last_status: 422, last_reason: 'HTTP 422 X: no' });
  dead.maybeLog(Date.now() + 200_000); // nothing new: quiet
  expect(events.named('dead_lettered')).toHaveLength(2);
});
