/**
 * The one-file Henrik (dist/standalone/henrik.mjs, made by `npm run build`): copied alone
 * into an empty folder, run with plain node, it ships a file to the real Daniel app.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { IngestSink } from './ingest-sink.js';

const STANDALONE = fileURLToPath(new URL('../../dist/standalone/henrik.mjs', import.meta.url));

let dir: string;
let sink: IngestSink;

beforeEach(async () => {
  if (!existsSync(STANDALONE)) throw new Error(`${STANDALONE} is missing: run npm run build first`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-standalone-'));
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

it('runs from an empty folder with plain node (no node_modules, under 5 MiB) and ships a file', async () => {
  expect(statSync(STANDALONE).size).toBeLessThan(5 * 1024 * 1024);
  copyFileSync(STANDALONE, path.join(dir, 'henrik.mjs'));
  const log = path.join(dir, 'app.log');
  writeFileSync(log, Array.from({ length: 1000 }, (_, i) => `2026-12-01T10:00:00Z standalone ${i}`).join('\n') + '\n');
  // A YAML config too: the bundled yaml reader, not one from node_modules.
  writeFileSync(path.join(dir, 'henrik.yaml'), `paths: [${log}]\nflushIntervalMs: 100\n`);
  expect(readdirSync(dir).sort()).toEqual(['app.log', 'henrik.mjs', 'henrik.yaml']);
  // Without node_modules there is no zstd addon: the default compression is brotli.
  const encodings: unknown[] = [];
  sink.intercept = (request) => {
    if (request.url.startsWith('/ingest')) encodings.push(request.headers['content-encoding']);
    return undefined;
  };
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['henrik.mjs', '--once', '--config', 'henrik.yaml', '--server', sink.url, '--state-dir', 'state', '--host', 'one-file'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HENRIK_TOKEN: 'T' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  expect(result.code, result.stderr).toBe(0);
  expect(sink.stored).toHaveLength(1000);
  expect(new Set(sink.stored.map((l) => l.host))).toEqual(new Set(['one-file']));
  expect(sink.lines()[999]).toBe('2026-12-01T10:00:00Z standalone 999');
  expect(new Set(encodings)).toEqual(new Set(['br']));
});
