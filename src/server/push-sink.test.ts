import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PushedBatch } from '../inputs/sink.js';
import { parseQuery } from '../query/language.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { Store, StoredLine } from '../storage/store.js';
import { ServerMetrics } from './metrics-registry.js';
import { AppendNotifier } from './notifier.js';
import { StorePushSink } from './push-sink.js';

const T0 = 1_700_000_000_000_000_000n;
const dirs: string[] = [];
const stores: Store[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function sqlite(dir?: string): Promise<{ store: Store; dir: string }> {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'push-sink-'));
  if (dir === undefined) dirs.push(dataDir);
  const store = await SqliteStore.open({ dataDir });
  stores.push(store);
  return { store, dir: dataDir };
}

const sinkOn = (store: Store): StorePushSink => new StorePushSink({ store, now: () => T0, notifier: new AppendNotifier(), metrics: new ServerMetrics() });

async function everything(store: Store, q?: string): Promise<StoredLine[]> {
  const page = await store.search({ limit: 1000, order: 'asc', ...(q === undefined ? {} : { match: [{ kind: 'query', node: parseQuery(q), caseSensitive: false }] }) });
  return page.lines;
}

const batch = (host: string, filename: string, texts: string[], extra: Partial<PushedBatch['entries'][number]> = {}): PushedBatch => ({
  host,
  filename,
  entries: texts.map((line, i) => ({ timestamp: T0 + BigInt(i), line, ...extra })),
});

describe('StorePushSink', () => {
  it('refuses alone an entry whose time is past 64 bits of nanoseconds, and stores the rest of its batch', async () => {
    const { store } = await sqlite();
    const sink = sinkOn(store);
    const absurd: PushedBatch = {
      host: 'web-1',
      filename: 'app',
      entries: [
        { timestamp: T0, line: 'before' },
        { timestamp: 10n ** 36n, line: 'too late' },
        { timestamp: -(2n ** 63n) - 1n, line: 'too early' },
        { timestamp: T0 + 1n, line: 'after' },
      ],
    };
    const result = await sink.push([batch('web-2', 'api', ['other']), absurd], {});
    expect(result.accepted).toBe(3);
    expect(result.rejected.map(({ batch: b, entry, code }) => [b, entry, code])).toEqual([
      [1, 1, 'INVALID_BODY'],
      [1, 2, 'INVALID_BODY'],
    ]);
    expect(result.rejected[0]!.message).toContain('1677-09-21 to 2262-04-11');
    expect((await everything(store)).map((l) => [l.host, l.line, l.offset])).toEqual([
      ['web-2', 'other', 0],
      ['web-1', 'before', 0],
      ['web-1', 'after', 1],
    ]);
  });

  it('stores every entry of every source under its host and filename, with its fields, in order', async () => {
    const { store } = await sqlite();
    const sink = sinkOn(store);
    const result = await sink.push([batch('web-1', 'nginx', ['a', 'b'], { fields: { app: 'nginx', level: 'error' } }), batch('web-2', 'api', ['c'])], {});
    expect(result).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    expect(await sink.push([batch('web-1', 'nginx', ['d'])], {})).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const lines = await everything(store);
    expect(lines.map((l) => [l.host, l.filename, l.line, l.offset])).toEqual([
      ['web-1', 'nginx', 'a', 0],
      ['web-2', 'api', 'c', 0],
      ['web-1', 'nginx', 'd', 2],
      ['web-1', 'nginx', 'b', 1],
    ]);
    expect((await everything(store, 'app:nginx level:error')).map((l) => l.line)).toEqual(['a', 'b']);
    expect((await store.files('web-1'))?.map((f) => [f.filename, f.lines])).toEqual([['nginx', 3]]);
  });

  it('a sender id stored already is a duplicate, in one push and across pushes', async () => {
    const { store } = await sqlite();
    const sink = sinkOn(store);
    const withIds = (ids: string[]): PushedBatch => ({ host: 'h', filename: 'idx', entries: ids.map((id) => ({ timestamp: T0, line: `doc ${id}`, id })) });
    expect(await sink.push([withIds(['1', '2', '1'])], {})).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    expect(await sink.push([withIds(['2', '3'])], {})).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    expect((await everything(store)).map((l) => l.line).sort()).toEqual(['doc 1', 'doc 2', 'doc 3']);
  });

  it('refuses a bad name or a host the token may not write, alone', async () => {
    const { store } = await sqlite();
    const sink = sinkOn(store);
    const result = await sink.push([batch('a/../b', 'x', ['bad']), batch('ok', '', ['bad']), batch('other', 'x', ['not mine']), batch('mine', 'x', ['kept'])], { hosts: new Set(['mine', 'a/../b', 'ok']) });
    expect(result.accepted).toBe(1);
    expect(result.rejected.map((r) => [r.batch, r.code])).toEqual([
      [0, 'INVALID_NAME'],
      [1, 'INVALID_NAME'],
      [2, 'HOST_NOT_ALLOWED'],
    ]);
    expect((await everything(store)).map((l) => l.line)).toEqual(['kept']);
  });

  it('a restarted sink on the same data never takes new entries for old ones', async () => {
    const { store, dir } = await sqlite();
    await sinkOn(store).push([batch('h', 'app', ['one', 'two'])], {});
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const { store: reopened } = await sqlite(dir);
    expect(await sinkOn(reopened).push([batch('h', 'app', ['three'])], {})).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await everything(reopened)).map((l) => l.line).sort()).toEqual(['one', 'three', 'two']);
  });

  it('after a failed append, later entries are stored, not taken for the failed ones', async () => {
    const { store } = await sqlite();
    let fail = true;
    const flaky = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'append') {
          return async (request: Parameters<Store['append']>[0]) => {
            // A store that kept the first line, then failed.
            if (fail) {
              fail = false;
              await target.append({ ...request, files: request.files.map((f) => ({ ...f, lines: f.lines.slice(0, 1) })) });
              throw new Error('the store went away');
            }
            return target.append(request);
          };
        }
        return Reflect.get(target, name, receiver) as unknown;
      },
    });
    const sink = sinkOn(flaky);
    await expect(sink.push([batch('h', 'app', ['x1', 'x2'])], {})).rejects.toThrow('went away');
    expect(await sink.push([batch('h', 'app', ['y1', 'y2'])], {})).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect((await everything(store)).map((l) => l.line).sort()).toEqual(['x1', 'y1', 'y2']);
  });

  it('concurrent pushes of one source each store all their entries', async () => {
    const { store } = await sqlite();
    const sink = sinkOn(store);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => sink.push([batch('h', 'app', [`p${i}a`, `p${i}b`])], {})));
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(40);
    expect(await everything(store)).toHaveLength(40);
  });
});
