/**
 * A config file's sources through a real Henrik and a real Daniel: each source's timezone
 * for naive times (across a daylight-saving jump), `TZ` for a source without one, and the
 * java and python multiline presets keeping a stack trace with the line that logged it, the
 * last record of a file included (emitted at the end of `--once`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/protocol/api.js';
import { getJson } from './lib/checker.js';
import { makeTempDir, runHenrikOnce, startDanielChild } from '../lib/processes.js';
import { useSystemHooks } from './lib/stack.js';

useSystemHooks();

const JAVA = [
  '2024-03-10 01:59:59,123 ERROR [main] c.e.Service - request failed',
  'java.lang.IllegalStateException: boom',
  '\tat com.example.Service.handle(Service.java:42)',
  'Caused by: java.io.IOException: broken pipe',
  '\t... 12 more',
  '2024-03-10 03:00:00,000 INFO [main] c.e.Service - after the clocks went forward',
];

const PYTHON = [
  '2024-06-01 12:00:00,500 ERROR worker failed',
  'Traceback (most recent call last):',
  '  File "worker.py", line 10, in <module>',
  '    run()',
  'ValueError: bad input',
  '2024-06-01 12:00:01,000 INFO retrying',
  'Traceback (most recent call last):',
  '  File "worker.py", line 12, in <module>',
  'KeyError: missing',
];

describe('system: config file sources', () => {
  it('per-source timezone and multiline presets, through henrik --config to daniel', async () => {
    const root = makeTempDir('config-sources');
    for (const dir of ['java', 'python', 'plain']) mkdirSync(join(root, 'logs', dir), { recursive: true });
    writeFileSync(join(root, 'logs', 'java', 'service.log'), JAVA.join('\n') + '\n');
    writeFileSync(join(root, 'logs', 'python', 'worker.log'), PYTHON.join('\n') + '\n');
    writeFileSync(join(root, 'logs', 'plain', 'app.log'), '2024-01-01 00:00:00 plain naive time, read in TZ\n');
    const config = join(root, 'henrik.yaml');
    writeFileSync(
      config,
      [
        'sources:',
        `  - paths: ['${join(root, 'logs', 'java', '*.log')}']`,
        '    timezone: America/New_York',
        '    multiline: java',
        `  - paths: ['${join(root, 'logs', 'python', '*.log')}']`,
        '    timezone: Asia/Kolkata',
        '    multiline:',
        '      preset: python',
        `  - paths: ['${join(root, 'logs', 'plain', '*.log')}']`,
        '',
      ].join('\n'),
    );
    const daniel = await startDanielChild({ dataDir: join(root, 'data') });
    const run = await runHenrikOnce({ server: daniel.url, host: 'cfg', stateDir: join(root, 'state'), paths: [], config, env: { TZ: 'UTC' } });
    expect(run.code, run.child.tail()).toBe(0);

    const answer: { status: number; body: { data: LogEntry[] } } = await getJson({ url: daniel.url }, '/hosts/cfg/logs?count=100');
    expect(answer.status).toBe(200);
    const byFile = (name: string): LogEntry[] => answer.body.data.filter((e) => e.filename === name).reverse();

    // Java: two records, the trace joined to its line; New York time on both sides of the
    // 2024-03-10 jump (EST -05:00 before, EDT -04:00 after).
    const java = byFile('service.log');
    expect(java.map((e) => e.logline)).toEqual([JAVA.slice(0, 5).join('\n'), JAVA[5]]);
    expect(java.map((e) => e.last_modified)).toEqual(['1710053999.123', '1710054000.0']);

    // Python: two records, each traceback kept with the line before it, the last one
    // emitted although no line follows it; Kolkata is +05:30.
    const python = byFile('worker.log');
    expect(python.map((e) => e.logline)).toEqual([PYTHON.slice(0, 5).join('\n'), PYTHON.slice(5).join('\n')]);
    expect(python.map((e) => e.last_modified)).toEqual(['1717223400.5', '1717223401.0']);

    // No timezone in the source: TZ (UTC) applies.
    const plain = byFile('app.log');
    expect(plain.map((e) => e.last_modified)).toEqual(['1704067200.0']);
  }, 120_000);
});
