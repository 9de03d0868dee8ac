/**
 * Every segment metadata object the sqlite store holds in memory must share one hidden class,
 * however it was made (loaded from a row, inserted by an append, sealed, merged): a search
 * reads their properties once per segment, and mixed shapes made those reads megamorphic
 * (after a 10M-line ingest, searches over every segment ran 2-3x slower than in a Daniel
 * started afresh on the same file). V8's own `%HaveSameMap` checks it, in a child process
 * started with --allow-natives-syntax.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const storeModule = fileURLToPath(new URL('./sqlite-store.ts', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'daniel-segment-shapes-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const script = (dataDir: string) => `
import { SqliteStore } from ${JSON.stringify(storeModule)};
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
const T0 = 1_700_000_000_000_000_000n;
let offset = 0;
function append(host, count, size) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const line = 'line ' + host + ' ' + offset + ' ' + 'x'.repeat(size);
    lines.push({ offset, end: offset + line.length + 1, timestamp: T0 + BigInt(offset), line, cut: false });
    offset += line.length + 1;
  }
  return { host, receivedAt: T0, files: [{ fileId: host + '-inode', filename: 'app.log', path: '/var/log/app.log', lines }] };
}
const writer = await SqliteStore.open({ dataDir: ${JSON.stringify(dataDir)}, fieldStats: false });
await writer.search({ order: 'desc', limit: 1 }); // the metadata cache exists before the appends
for (let i = 0; i < 40; i++) await writer.append(append(i % 2 ? 'web' : 'db', 50, 40)); // small: unsealed, merged
await writer.append(append('web', 3000, 200)); // large: sealed at once
const reader = await SqliteStore.open({ dataDir: ${JSON.stringify(dataDir)}, fieldStats: false });
const appended = await writer.segments.listSegments({});
const loaded = await reader.segments.listSegments({});
const all = [...appended, ...loaded];
const odd = all.filter((segment) => !sameMap(segment, all[0]));
console.log(JSON.stringify({ appended: appended.length, loaded: loaded.length, sealed: appended.filter((s) => s.sealed).length, odd: odd.length }));
await writer.close();
await reader.close();
`;

describe('sqlite segment metadata in memory', () => {
  it('has one hidden class whether loaded, appended, merged or sealed', () => {
    const file = join(dir, 'shapes.mts');
    writeFileSync(file, script(dir));
    const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { appended: number; loaded: number; sealed: number; odd: number };
    expect(result.appended).toBeGreaterThan(1);
    expect(result.sealed).toBeGreaterThan(0);
    expect(result.loaded).toBe(result.appended);
    expect(result.odd).toBe(0);
  });
});
