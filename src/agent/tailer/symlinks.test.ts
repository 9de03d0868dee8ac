/**
 * Symlinks under a glob: a link a wildcard matches is followed only when its target is
 * inside the pattern's root (the directory it starts from), unless the source says
 * followSymlinks. Real files, real links, the real tailer.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { StampedLine } from '../batcher.js';
import { createTimestampParser } from '../timestamps.js';
import type { FileStream } from './open-file.js';
import { Tailer, type TailerSource } from './tailer.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-links-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function tail(source: Omit<TailerSource, 'parser'>): Promise<{ lines: string[]; log: string[] }> {
  const lines: string[] = [];
  const log: string[] = [];
  const tailer = new Tailer({
    sources: [{ ...source, parser: createTimestampParser({}) }],
    maxLineBytes: 64 * 1024,
    readChunkBytes: 64 * 1024,
    orphanIdleMs: 1000,
    copyGraceMs: 1000,
    copyWindowMs: 60_000,
    forgetAfterMs: 3_600_000,
    emit: (stream: FileStream, line: StampedLine) => lines.push(`${stream.filename}: ${line.text}`),
    canRead: () => true,
    // Each event as `path=P: skipped, REASON` (the fields this test reads).
    log: (event, fields = {}) => log.push(`path=${String(fields.path)}: ${event === 'file_skipped' ? 'skipped, ' : event + ' '}${String(fields.reason ?? '')}`),
  });
  try {
    await tailer.scan();
    await tailer.readAvailable();
    await tailer.scan();
  } finally {
    await tailer.close();
  }
  return { lines: lines.sort(), log };
}

/** /secret/passwd (outside the logs), logs/app.log, and links to each under logs/. */
function layout(): { logs: string; secret: string } {
  const logs = path.join(dir, 'logs');
  const secret = path.join(dir, 'secret', 'passwd');
  mkdirSync(path.join(logs, 'sub'), { recursive: true });
  mkdirSync(path.dirname(secret));
  writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(path.join(logs, 'app.log'), 'app line\n');
  writeFileSync(path.join(logs, 'sub', 'real.log'), 'inside line\n');
  symlinkSync(secret, path.join(logs, 'shadow.log'));
  symlinkSync(path.join(logs, 'sub', 'real.log'), path.join(logs, 'inside.log'));
  // Relative links are resolved too: ../secret/passwd leaves the root as well.
  symlinkSync('../secret/passwd', path.join(logs, 'relative.log'));
  return { logs, secret };
}

test('a link out of the pattern\'s root is not read and is said once; a link inside it is read', async () => {
  const { logs, secret } = layout();
  const { lines, log } = await tail({ paths: [path.join(logs, '*.log')], exclude: [] });
  expect(lines).toEqual(['app.log: app line', 'inside.log: inside line']);
  expect(lines.join('\n')).not.toContain('root:x');
  for (const link of ['shadow.log', 'relative.log']) {
    const said = log.filter((line) => line.includes(`path=${path.join(logs, link)}:`));
    expect(said, log.join('\n')).toHaveLength(1);
    expect(said[0]).toContain(`skipped, a symbolic link to ${secret}, outside ${logs} where its pattern starts: not followed (set followSymlinks: true`);
  }
});

test('a pattern whose root holds both the links and their targets reads them (the Kubernetes layout)', async () => {
  // /var/log/containers/*.log -> /var/log/pods/…: a pattern starting at /var/log covers both.
  const varlog = path.join(dir, 'var', 'log');
  const pod = path.join(varlog, 'pods', 'ns_web-1_uid', 'web');
  mkdirSync(pod, { recursive: true });
  mkdirSync(path.join(varlog, 'containers'));
  writeFileSync(path.join(pod, '0.log'), 'pod line\n');
  symlinkSync(path.join(pod, '0.log'), path.join(varlog, 'containers', 'web-1_ns_web-abc.log'));
  const narrow = await tail({ paths: [path.join(varlog, 'containers', '*.log')], exclude: [] });
  expect(narrow.lines).toEqual([]);
  expect(narrow.log.join('\n')).toMatch(/skipped, a symbolic link to .*pods.*0\.log, outside .*containers where its pattern starts/);
  const wide = await tail({ paths: [path.join(varlog, 'contain[e]rs', '*.log')], exclude: [] });
  expect(wide.lines).toEqual(['containers/web-1_ns_web-abc.log: pod line']);
});

test('followSymlinks on the source, or a literal path, follows a link wherever it points', async () => {
  const { logs } = layout();
  const followed = await tail({ paths: [path.join(logs, '*.log')], exclude: [], followSymlinks: true });
  // shadow.log and relative.log are one file (one inode): it is read once, under one of the names.
  expect(followed.lines.filter((line) => !line.includes('root:x'))).toEqual(['app.log: app line', 'inside.log: inside line']);
  expect(followed.lines.filter((line) => line.endsWith(': root:x:0:0:root:/root:/bin/bash'))).toHaveLength(1);
  expect(followed.log.join('\n')).not.toContain('symbolic link');
  const literal = await tail({ paths: [path.join(logs, 'shadow.log')], exclude: [] });
  expect(literal.lines).toEqual(['shadow.log: root:x:0:0:root:/root:/bin/bash']);
});
