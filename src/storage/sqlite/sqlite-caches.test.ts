/** What the sqlite store keeps in memory (metadata, bloom summaries) must never answer differently from the file. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendRequest, Store } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const T0 = 1_700_000_000_000_000_000n;
let dataDir: string;
const opened: Store[] = [];

async function open(): Promise<Store> {
  const store = await SqliteStore.open({ dataDir });
  opened.push(store);
  return store;
}

function append(host: string, offset: number, lines: string[], receivedAt = T0): AppendRequest {
  let at = offset;
  return {
    host,
    receivedAt,
    files: [
      {
        fileId: `${host}-inode`,
        filename: 'app.log',
        path: '/var/log/app.log',
        lines: lines.map((line, i) => {
          const entry = { offset: at, end: at + line.length + 1, timestamp: T0 + BigInt(offset + i), line, cut: false };
          at = entry.end;
          return entry;
        }),
      },
    ],
  };
}

const needle = (text: string) => ({ order: 'desc' as const, limit: 10, match: [{ kind: 'substring' as const, text, caseInsensitive: false }] });
const count = async (store: Store, text: string): Promise<number> =>
  (await store.histogram({ bucketMs: 366 * 86_400_000, match: needle(text).match })).buckets.reduce((sum, b) => sum + b.count, 0);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'daniel-sqlite-caches-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sqlite store caches', () => {
  it('forgets the segments of a rolled-back append, even when SQLite reuses their ids', async () => {
    await (await open()).close();
    const raw = new Database(join(dataDir, 'daniel.db'));
    raw.exec(`CREATE TRIGGER boom BEFORE INSERT ON hosts WHEN NEW.host = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    raw.close();
    const store = await open();
    await store.append(append('web', 0, ['warm up the caches']));
    expect((await store.search(needle('warm'))).lines).toHaveLength(1);
    await expect(store.append(append('boom', 0, ['qzx-rolled-back']))).rejects.toThrow(/boom/);
    await store.append(append('db', 0, ['qzx-kept after the failure'])); // a new segment: takes the rolled-back one's id
    expect((await store.search(needle('qzx-kept'))).lines.map((l) => l.line)).toEqual(['qzx-kept after the failure']);
    expect((await store.search(needle('qzx-rolled-back'))).lines).toEqual([]);
    expect(await count(store, 'qzx-kept')).toBe(1);
    expect(await count(store, 'qzx-rolled-back')).toBe(0);
  });

  it('sees what another connection wrote or deleted since its last query', async () => {
    // Only counts: a search pins its snapshot to the opening store's own seq counter.
    const writer = await open();
    const reader = await open();
    await writer.append(append('web', 0, ['first qzx-one'], T0));
    expect(await count(reader, 'qzx-')).toBe(1);
    await writer.append(append('db', 0, ['second qzx-two'], T0 + 10n)); // another file: its own segment
    expect(await count(reader, 'qzx-two')).toBe(1);
    expect(await count(reader, 'qzx-')).toBe(2);
    await writer.deleteArrivedBefore(T0 + 5n);
    expect(await count(reader, 'qzx-')).toBe(1);
    expect(await count(reader, 'qzx-one')).toBe(0);
  });
});
