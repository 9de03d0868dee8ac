/**
 * Every line kept, whatever it says and whatever its file is called: real files with
 * hostile content and hostile names, shipped by a real `henrik --once` to a real Daniel,
 * read back through the API and compared line by line with the bytes on disk.
 *
 * The property test draws random file contents (any bytes, line lengths, times of any
 * range and shape, with and without a final newline) and random names; a fixed seed runs
 * in `npm test` (REALPATH_RUNS, default 12), FC_SEED=random explores.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/protocol/api.js';
import { fetchAllLines } from './lib/checker.js';
import { runHenrikOnce } from '../lib/processes.js';
import { Stack, useSystemHooks } from './lib/stack.js';

useSystemHooks();

/** What SPEC.md says a file's bytes become: split on `\n`, a trailing `\r` dropped, invalid UTF-8 as U+FFFD. */
function expectedLines(bytes: Buffer): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const last = end === -1;
    if (last) end = bytes.length;
    let textEnd = end;
    if (!last && textEnd > start && bytes[textEnd - 1] === 0x0d) textEnd--;
    lines.push(bytes.subarray(start, textEnd).toString('utf8'));
    start = end + 1;
  }
  return lines;
}

/** The stored lines of each file identity in offset order, cut pieces joined again. */
function storedFiles(entries: LogEntry[]): string[][] {
  const byId = new Map<string, LogEntry[]>();
  for (const entry of entries) {
    let list = byId.get(entry.file_id);
    if (!list) byId.set(entry.file_id, (list = []));
    list.push(entry);
  }
  const files: string[][] = [];
  for (const list of byId.values()) {
    list.sort((a, b) => a.offset - b.offset);
    const lines: string[] = [];
    let pending = '';
    for (const entry of list) {
      pending += entry.logline;
      if (entry.cut !== true) {
        lines.push(pending);
        pending = '';
      }
    }
    if (pending !== '') lines.push(pending);
    files.push(lines);
  }
  return files;
}

const sortKey = (lines: string[]): string => JSON.stringify(lines);

function expectSameFiles(stored: string[][], written: Buffer[]): void {
  const want = written.map((bytes) => expectedLines(bytes)).filter((lines) => lines.length > 0);
  const got = stored.map(sortKey).sort();
  const expected = want.map(sortKey).sort();
  expect(got.length, 'file identities stored').toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(got[i]).toBe(expected[i]);
}

function deadLettered(stateDir: string): string {
  const file = join(stateDir, 'dead-letter.ndjson');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

const oddTimes = [
  '0001-01-01 00:00:00 +0000 UTC Go zero time',
  '9999-12-31T23:59:59Z the end of time',
  '2312-07-30 12:00:00 far future',
  '1969-07-20 20:17:40 before the epoch',
  '1970-01-01T00:00:00+01:00 an hour before the epoch',
  '9876543210 a phone number leads this line',
  '1234567890123 thirteen digits of an id',
  '1234567890123456 sixteen digits of an id',
  'a line with 690101 000000 in the middle',
  '{"query":"ts:>0001-01-01 AND 9999-12-31T23:59:59Z","took_ms":12}',
  '-9223372036854775808 the smallest int64',
  '18446744073709551615 past int64',
];

describe('system: every line kept', () => {
  it('hostile content and names ship with --once to a Daniel with a 512KiB body limit: each line once, nothing dead-lettered', async () => {
    const stack = await Stack.start({ name: 'every-line', danielArgs: ['--body-limit', '512KiB'] });
    const ansi = '\u001b[31mred\u001b[0m and \u001b]0;title\u0007';
    const parts: Buffer[] = [
      Buffer.from('2024-05-01T10:00:00Z ordinary first line\n'),
      ...oddTimes.map((text) => Buffer.from(`${text}\n`)),
      Buffer.from('2024-05-01T10:00:01Z after the odd ones\n'),
      Buffer.from([0xff, 0xfe, 0x41, 0xc3, 0x28, 0x0a]),
      Buffer.from('nul \u0000 inside\n'),
      Buffer.from(`${ansi}\n`),
      Buffer.from('\n\n\r\n'),
      Buffer.from('crlf line\r\n'),
      Buffer.from(`${'x'.repeat(600 * 1024)}\n`),
      Buffer.from('2024-05-01T10:00:02Z the last line has no newline'),
    ];
    const mixed = Buffer.concat(parts);
    const written: Buffer[] = [mixed];
    writeFileSync(stack.logPath('mixed.log'), mixed);
    // Names: an escape, a newline, Latin-1 bytes, and a relative path past 255 bytes.
    const names: Buffer[] = [
      Buffer.from('esc\u001b[1m.log'),
      Buffer.from('new\nline.log'),
      Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.log')]),
    ];
    names.forEach((name, i) => {
      const content = Buffer.from(`2024-05-01T10:00:0${i}Z line one of file ${i}\nline two of file ${i}\n`);
      writeFileSync(Buffer.concat([Buffer.from(`${stack.logDir}/`), name]), content);
      written.push(content);
    });
    const deep = join(stack.logDir, 'd'.repeat(120), 'e'.repeat(120));
    mkdirSync(deep, { recursive: true });
    const deepContent = Buffer.from('line in a deep file\n');
    writeFileSync(join(deep, `${'f'.repeat(40)}.log`), deepContent);
    written.push(deepContent);

    const result = await runHenrikOnce(
      { server: stack.serverUrl, host: stack.host, stateDir: stack.stateDir, paths: [join(stack.logDir, '**/*.log')] },
      120_000,
    );
    expect(result.code, result.child.tail()).toBe(0);
    expect(deadLettered(stack.stateDir)).toBe('');
    expectSameFiles(storedFiles(await fetchAllLines(stack, stack.host)), written);

    // A second --once over unchanged files ships nothing.
    const again = await runHenrikOnce(
      { server: stack.serverUrl, host: stack.host, stateDir: stack.stateDir, paths: [join(stack.logDir, '**/*.log')] },
      60_000,
    );
    expect(again.code, again.child.tail()).toBe(0);
    expectSameFiles(storedFiles(await fetchAllLines(stack, stack.host)), written);
    expect(statSync(stack.logPath('mixed.log')).size).toBe(mixed.length);
  }, 180_000);

  const runs = Number(process.env.REALPATH_RUNS ?? 12);

  it(`random bytes, times and names through a real Henrik and Daniel come back exactly once, in order (${runs} runs)`, async () => {
    const stack = await Stack.start({ name: 'realpath' });
    const timeText = fc.oneof(
      fc.date({ min: new Date(-62135596800000), max: new Date(253402300799000), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
      fc.constantFrom('Jan  1 00:00:00', 'Dec 31 23:59:60', '0001-01-01 00:00:00 +0000 UTC', '690101 000000', '99/99/99 99:99:99', '2024-13-45T25:61:61Z'),
    );
    const lineBytes = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(timeText, fc.string({ maxLength: 80 })).map(([t, s]) => Buffer.from(`${t} ${s}`.replaceAll('\n', ' '))) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a.filter((b) => b !== 0x0a))) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(`${s.replaceAll('\n', '')} ${'y'.repeat(500)}`)) },
    );
    const fileContent = fc
      .tuple(fc.array(lineBytes, { maxLength: 40 }), fc.boolean(), fc.boolean())
      .map(([lines, finalNewline, crlf]) => {
        const nl = Buffer.from(crlf ? '\r\n' : '\n');
        const joined = Buffer.concat(lines.flatMap((line, i) => (i < lines.length - 1 || finalNewline ? [line, nl] : [line])));
        return joined;
      });
    const nameByte = fc.integer({ min: 1, max: 255 }).filter((b) => b !== 0x2f && b !== 0x2e);
    const fileName = fc.array(nameByte, { minLength: 1, maxLength: 40 }).map((bytes) => Buffer.concat([Buffer.from(bytes), Buffer.from('.log')]));
    const world = fc.uniqueArray(fc.tuple(fileName, fileContent), { minLength: 1, maxLength: 4, selector: ([name]) => name.toString('hex') });

    let run = 0;
    await fc.assert(
      fc.asyncProperty(world, async (files) => {
        run++;
        const dir = join(stack.logDir, `run${run}`);
        mkdirSync(dir, { recursive: true });
        const stateDir = join(stack.root, `state${run}`);
        for (const [name, content] of files) writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), content);
        const host = `${stack.host}-${run}`;
        const result = await runHenrikOnce({ server: stack.serverUrl, host, stateDir, paths: [join(dir, '*.log')] }, 90_000);
        expect(result.code, result.child.tail()).toBe(0);
        expect(deadLettered(stateDir)).toBe('');
        expectSameFiles(
          storedFiles(await fetchAllLines(stack, host)),
          files.map(([, content]) => content),
        );
      }),
      { numRuns: runs, endOnFailure: true },
    );
  }, 600_000);
});
