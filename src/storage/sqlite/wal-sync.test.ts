/** An append is acknowledged only once the WAL holding it is flushed to disk. */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fdatasync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendRequest } from '../store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { WalSync } from './wal-sync.js';
import { appendOf } from './requests.case.js';

let dataDir: string;
const opened: SqliteStore[] = [];

async function open(options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore> {
  const store = await SqliteStore.open({ dataDir, warmCaches: false, repack: false, fieldStats: false, ...options });
  opened.push(store);
  return store;
}

const append = (offset: number, lines: string[]): AppendRequest => appendOf('web-1', offset, lines);

/** A flush that waits until released, counting the flushes begun. */
function gatedSync() {
  const gates: (() => void)[] = [];
  let fail: Error | undefined;
  return {
    started: () => gates.length,
    release: (error?: Error) => {
      fail = error;
      for (const gate of gates.splice(0)) gate();
    },
    dataSync: (fd: number) =>
      new Promise<void>((resolve, reject) =>
        gates.push(() => {
          if (fail) reject(fail);
          else fdatasync(fd, (error) => (error ? reject(error) : resolve()));
        }),
      ),
  };
}

/** A WalSync over a file of its own, its flushes held by a gate. */
function gatedWal() {
  const file = join(dataDir, 'x-wal');
  writeFileSync(file, 'frames');
  const gate = gatedSync();
  return { gate, sync: new WalSync(file, { dataSync: gate.dataSync }) };
}

/** Time for a flush to begin on the thread pool (or for an answer that is coming to arrive). */
const pause = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const settledYet = async (promise: Promise<unknown>): Promise<boolean> => {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await pause(50);
  return settled;
};

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'daniel-wal-sync-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('WalSync', () => {
  it('shares one flush among the callers that come while one runs, and never one begun before their call', async () => {
    const { gate, sync } = gatedWal();
    const first = sync.sync();
    await pause();
    expect(gate.started()).toBe(1);
    const second = sync.sync();
    const third = sync.sync();
    gate.release();
    await first;
    expect(await settledYet(second)).toBe(false); // it waits for a flush begun after its call
    expect(gate.started()).toBe(1);
    gate.release();
    await Promise.all([second, third]);
    expect(sync.flushes).toBe(2);
    const idle = sync.sync(); // none in flight: a new flush at once
    await pause();
    expect(gate.started()).toBe(1);
    gate.release();
    await idle;
    expect(sync.flushes).toBe(3);
    await sync.close();
  });

  it('rejects the callers of a flush that fails, and flushes again for the next', async () => {
    const { gate, sync } = gatedWal();
    const failing = sync.sync();
    await pause();
    gate.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(failing).rejects.toThrow('EIO');
    const next = sync.sync();
    await pause();
    gate.release();
    await next;
    expect(sync.flushes).toBe(1);
    await sync.close();
  });

  it('says so when there is no WAL to flush', async () => {
    const sync = new WalSync(join(dataDir, 'missing-wal'));
    await expect(sync.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    await sync.close();
  });
});

describe('sqlite store durability', () => {
  it('resolves an append only after the WAL is flushed', async () => {
    const gate = gatedSync();
    const store = await open({ walSync: { dataSync: gate.dataSync, asyncBytes: 0 } });
    const pending = store.append(append(0, ['first line', 'second line']));
    expect(await settledYet(pending)).toBe(false);
    // Committed already, but neither acknowledged nor shown to a tail (or given a seq a reader sees) until on disk.
    expect((await store.hosts()).map((h) => h.host)).toEqual(['web-1']);
    expect(await store.lastSeq()).toBe(0);
    expect((await store.tail({ afterSeq: 0, limit: 10 })).lines).toEqual([]);
    expect((await store.search({ order: 'desc', limit: 10 })).lines).toEqual([]);
    gate.release();
    expect((await pending).accepted).toBe(2);
    expect(await store.lastSeq()).toBe(2);
    expect((await store.tail({ afterSeq: 0, limit: 10 })).lines.map((l) => l.line)).toEqual(['first line', 'second line']);
    expect((await store.search({ order: 'desc', limit: 10 })).lines).toHaveLength(2);
  });

  it('flushes a small append on the main thread, a large one off it', async () => {
    const gate = gatedSync();
    const store = await open({ walSync: { dataSync: gate.dataSync, asyncBytes: 1000 } });
    expect((await store.append(append(0, ['a small append']))).accepted).toBe(1);
    expect(gate.started()).toBe(0);
    const large = store.append(append(15, Array.from({ length: 20 }, (_, i) => `line ${i} ${'y'.repeat(60)}`)));
    expect(await settledYet(large)).toBe(false);
    expect(gate.started()).toBe(1);
    gate.release();
    expect((await large).accepted).toBe(20);
  });

  it('fails an append whose flush fails, and every call after it, with STORE_DAMAGED', async () => {
    const gate = gatedSync();
    const store = await open({ walSync: { dataSync: gate.dataSync, asyncBytes: 0 } });
    const pending = store.append(append(0, ['a line']));
    await pause();
    gate.release(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(pending).rejects.toMatchObject({ code: 'STORE_DAMAGED', message: expect.stringMatching(/Flushing the WAL .* failed \(EIO/) });
    await expect(store.append(append(7, ['another line']))).rejects.toMatchObject({ code: 'STORE_DAMAGED' });
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_DAMAGED' });
  });

  it('leaves no WAL behind at close, every line in the file', async () => {
    const store = await open();
    let offset = 0;
    for (let i = 0; i < 20; i++) {
      // Random hex, so the appends are large enough to be flushed off the main thread.
      const request = append(offset, Array.from({ length: 1000 }, (_, n) => `${i}-${n} ${randomBytes(50).toString('hex')}`));
      offset = request.files[0]!.lines.at(-1)!.end;
      await store.append(request);
    }
    await store.close();
    const db = join(dataDir, 'daniel.db');
    expect(existsSync(`${db}-wal`)).toBe(false);
    const reopened = new Database(db, { readonly: true });
    expect(reopened.prepare('SELECT sum(line_count) AS n FROM segments').get()).toEqual({ n: 20_000 });
    reopened.close();
  });
});
