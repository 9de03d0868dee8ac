/**
 * The host head (host-head.ts): a newest page of one host answered from the head is the page
 * the segment listing answers, however the head came to be: a small head (its floor moving
 * with nearly every append), a table written before heads, a writer that keeps no head beside
 * one that does, retention deleting segments the head holds lines of, writers merging at once.
 */
import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { searchSegments } from '../../query/segment-search.js';
import { MemoryStore } from '../memory/memory-store.js';
import { appendFile, fileLines, T0 } from '../store.case.js';
import { storeProperties } from '../store-properties.case.js';
import type { SearchQuery, StoredLine } from '../store.js';
import { attr, createClient } from './dynamo-client.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { DynamoSegments } from './dynamo-segments.js';
import { decodeHead, encodeHead, mergeHead, readHead, type HostHead } from './host-head.js';
import { headKey } from './table-design.js';

const dynalite = useDynalite();
const SECOND = 1_000_000_000n;

/** Counts GetItems of blob items: a page the head answered reads none. */
function countBlobReads(client: DynamoDBClient): { blobs: number } {
  const counter = { blobs: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { pk?: { S?: string } } };
      if (context.commandName === 'GetItemCommand' && input.Key?.pk?.S?.startsWith('B#') === true) counter.blobs++;
      return next(args);
    },
    { step: 'initialize' },
  );
  return counter;
}

/** A store whose blob reads are counted (its own client). */
async function countedStore(options: Parameters<typeof DynamoDbStore.open>[0]): Promise<{ store: DynamoDbStore; reads: { blobs: number } }> {
  const store = await DynamoDbStore.open(options);
  const client = (store as unknown as { client: DynamoDBClient }).client;
  return { store, reads: countBlobReads(client) };
}

/** Three files of one host whose lines interleave in time (as the newest page of a real host does). */
function round(host: string, n: number, lines = 4) {
  const files = ['a', 'b', 'c'].map((id, f) =>
    appendFile(
      id,
      `${id}.log`,
      fileLines(
        Array.from({ length: lines }, (_, i) => `${host} ${id} round ${n} line ${i}${n % 7 === 3 && i === 1 ? ' needle' : ''}`),
        { start: n * 1000, ts: (i) => T0 + BigInt(n * lines + i) * SECOND + BigInt(f) * 300_000_000n },
      ),
    ),
  );
  return { host, files, receivedAt: T0 + BigInt(n) * SECOND };
}

const page = (lines: StoredLine[]) => lines.map((line) => `${line.host} ${line.fileId} ${line.offset} ${line.seq} ${line.line}`);

/** The page the segment listing answers (no head), and the pages after it. */
async function listed(client: DynamoDBClient, table: string, query: SearchQuery): Promise<{ lines: string[]; more: boolean }> {
  const segments = new DynamoSegments({ client, table, shards: 2, now: () => T0 });
  const answer = await searchSegments(segments, query);
  return { lines: page(answer.lines), more: answer.nextCursor !== undefined };
}

async function expectSame(store: DynamoDbStore, client: DynamoDBClient, table: string, query: SearchQuery): Promise<void> {
  const answer = await store.search(query);
  expect({ lines: page(answer.lines), more: answer.nextCursor !== undefined }).toEqual(await listed(client, table, query));
}

describe('dynamodb store: host heads', () => {
  describe('with a 3-line head, 2 shards and a segment per few lines', () => {
    storeProperties(
      async () => {
        const connection = await dynalite().freshTable();
        const store = await DynamoDbStore.open({ ...connection, shards: 2, maxSegmentBytes: 24, settleMs: 0, headLines: 3 });
        return { store, cleanup: () => store.close() };
      },
      () => new MemoryStore(),
      8,
    );
  });

  it('keeps the newest lines above a floor that only rises', () => {
    const line = (offset: number, ts: number, seq: number) => ({ offset, end: offset + 2, timestamp: BigInt(ts), line: 'x', cut: false, seq });
    let state: { head: HostHead; fileIds: Map<string, string> } = { head: { version: 0, pieces: new Map() }, fileIds: new Map() };
    state = mergeHead(state, [{ id: 's1', fileId: 'f', maxTimestamp: 30n, lines: [line(0, 10, 1), line(2, 20, 2), line(4, 30, 3)] }], 2);
    expect(state.head.floor).toEqual({ timestamp: 10n, offset: 0, fileId: 'f', seq: 1 });
    expect(state.head.pieces.get('s1')!.lines.map((l: { seq: number }) => l.seq)).toEqual([2, 3]);
    // Older than the floor: not taken in, but the segment is known while it may hold lines above it.
    state = mergeHead(state, [{ id: 's2', fileId: 'g', maxTimestamp: 10n, lines: [line(0, 5, 4), line(2, 10, 5)] }], 2);
    // (10, offset 2) sorts above the floor (10, offset 0) but below the two kept: it raises the floor.
    expect(state.head.floor).toEqual({ timestamp: 10n, offset: 2, fileId: 'g', seq: 5 });
    expect(state.head.pieces.get('s2')!.lines).toEqual([]);
    state = mergeHead(state, [{ id: 's3', fileId: 'f', maxTimestamp: 50n, lines: [line(6, 40, 6), line(8, 50, 7)] }], 2);
    expect(state.head.floor).toEqual({ timestamp: 30n, offset: 4, fileId: 'f', seq: 3 });
    expect([...state.head.pieces.keys()]).toEqual(['s1', 's3']); // s2 ends below the floor: dropped; s1 reaches it
    expect(state.head.pieces.get('s1')!.lines).toEqual([]);
  });

  it('stores every field of a line, whatever its numbers', () => {
    const lines = [
      { offset: 5, end: 17, timestamp: -(1n << 62n), line: 'ärger 😀', cut: false, seq: 9 },
      { offset: 17, end: 20, timestamp: 1n << 62n, line: 'abc', cut: true, seq: 2 ** 40, fields: { service: 'api' } },
      { offset: 900, end: 901, timestamp: 0n, line: '', cut: false, seq: 2 ** 40 + 1 },
    ];
    const head: HostHead = { version: 7, floor: { timestamp: -5n, offset: 3, fileId: 'f#1', seq: 4 }, pieces: new Map([['s1', { maxTimestamp: 1n << 62n, lines }]]) };
    const decoded = decodeHead(7, encodeHead(head, new Map([['s1', 'f#1']])));
    expect(decoded.head).toEqual(head);
    expect(decoded.fileIds).toEqual(new Map([['s1', 'f#1']]));
  });

  it('answers the newest page of a host from the head, without reading a blob', async () => {
    const connection = await dynalite().freshTable();
    const { store, reads } = await countedStore({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 20 });
    const client = createClient(connection);
    try {
      for (let n = 0; n < 12; n++) await store.append(round('web', n));
      await store.append(round('db', 0));
      for (const limit of [1, 5, 19]) {
        reads.blobs = 0;
        await expectSame(store, client, connection.table, { order: 'desc', limit, hosts: ['web'] });
        expect(reads.blobs).toBe(0);
      }
      // Too many for the head, a rare needle, or oldest first: the listing answers, the same way.
      for (const query of [
        { order: 'desc', limit: 30, hosts: ['web'] },
        { order: 'desc', limit: 5, hosts: ['web'], match: [{ kind: 'substring', text: 'needle', caseInsensitive: false }] },
        { order: 'asc', limit: 5, hosts: ['web'] },
        { order: 'desc', limit: 5 },
      ] as SearchQuery[]) {
        reads.blobs = 0;
        await expectSame(store, client, connection.table, query);
        expect(reads.blobs).toBeGreaterThan(0);
      }
      // Paging from a page the head answered goes on with the same snapshot.
      const first = await store.search({ order: 'desc', limit: 10, hosts: ['web'] });
      const second = await store.search({ order: 'desc', limit: 10, hosts: ['web'], cursor: first.nextCursor! });
      const both = new MemoryStore();
      for (let n = 0; n < 12; n++) await both.append(round('web', n));
      expect([...first.lines, ...second.lines].map((l) => l.line)).toEqual((await both.search({ order: 'desc', limit: 20, hosts: ['web'] })).lines.map((l) => l.line));
      await both.close();
    } finally {
      client.destroy();
      await store.close();
    }
  });

  it('reads a head an older Daniel merged, whose order broke ties by file id, as exactly as the listing', async () => {
    // Four lines of one time at the same offsets in files c, b, a, appended in that order: c's lines
    // have the lowest seqs. By file id (the older order) c's line at an offset comes before b's and
    // a's, newest first; by seq, after them.
    const connection = await dynalite().freshTable();
    const writer = await DynamoDbStore.open({ ...connection, shards: 2, headLines: 0 });
    await writer.append({ host: 'web', files: ['c', 'b', 'a'].map((id) => appendFile(id, `${id}.log`, fileLines(['l0', 'l1', 'l2', 'l3'].map((text) => `${id} ${text}`), { ts: () => T0 }))), receivedAt: T0 });
    const all = (await writer.search({ order: 'desc', limit: 100, hosts: ['web'] })).lines;
    await writer.close();
    // The head the older order kept with 5 lines: c, b and a at the last offset, then c and b at the one before; a's line there is its floor.
    const older = [...all].sort((x, y) => y.offset - x.offset || (x.fileId < y.fileId ? 1 : -1));
    const kept = older.slice(0, 5);
    const floor = older[5]!;
    expect(kept.map((l) => l.line)).toEqual(['c l3', 'b l3', 'a l3', 'c l2', 'b l2']);
    const client = createClient(connection);
    const { store, reads } = await countedStore({ ...connection, shards: 2, headLines: 16 });
    try {
      const segments = await new DynamoSegments({ client, table: connection.table, shards: 2, now: () => T0 }).listSegments({ hosts: ['web'] });
      const head: HostHead = { version: 1, floor: { timestamp: floor.timestamp, offset: floor.offset, fileId: floor.fileId, seq: floor.seq }, pieces: new Map() };
      const fileIds = new Map<string, string>();
      for (const segment of segments) {
        const lines = kept.filter((l) => l.fileId === segment.fileId).map(({ offset, end, timestamp, line, cut, seq }) => ({ offset, end, timestamp, line, cut, seq }));
        head.pieces.set(segment.id, { maxTimestamp: segment.maxTimestamp, lines: lines.sort((x, y) => x.offset - y.offset) });
        fileIds.set(segment.id, segment.fileId);
      }
      const key = headKey('web');
      await client.send(new PutItemCommand({ TableName: connection.table, Item: { pk: attr.s(key.pk), sk: attr.s(key.sk), hv: attr.n(1), d: attr.b(encodeHead(head, fileIds)) } }));
      // By seq, a's line at the offset before (not in the head) comes between c's and b's there.
      for (const limit of [1, 2, 3, 4, 5]) await expectSame(store, client, connection.table, { order: 'desc', limit, hosts: ['web'] });
      expect((await store.search({ order: 'desc', limit: 4, hosts: ['web'] })).lines.map((l) => l.line)).toEqual(['a l3', 'b l3', 'c l3', 'a l2']);
      // Lines past the floor's offset still answer from the head.
      reads.blobs = 0;
      await expectSame(store, client, connection.table, { order: 'desc', limit: 2, hosts: ['web'] });
      expect(reads.blobs).toBe(0);
    } finally {
      client.destroy();
      await store.close();
    }
  });

  it('reads a table written before heads, and uses a head once its floor is above the older segments', async () => {
    const connection = await dynalite().freshTable();
    const before = await DynamoDbStore.open({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 0 });
    for (let n = 0; n < 6; n++) await before.append(round('web', n));
    await before.close();
    const { store, reads } = await countedStore({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 16 });
    const client = createClient(connection);
    try {
      await expectSame(store, client, connection.table, { order: 'desc', limit: 10, hosts: ['web'] });
      await store.append(round('web', 6));
      // The head knows one round: the older segments are not in it, so the listing answers.
      reads.blobs = 0;
      await expectSame(store, client, connection.table, { order: 'desc', limit: 10, hosts: ['web'] });
      expect(reads.blobs).toBeGreaterThan(0);
      for (let n = 7; n < 10; n++) await store.append(round('web', n));
      reads.blobs = 0;
      await expectSame(store, client, connection.table, { order: 'desc', limit: 10, hosts: ['web'] });
      expect(reads.blobs).toBe(0);
    } finally {
      client.destroy();
      await store.close();
    }
  });

  it('does not use a head that misses a segment another writer committed, nor lines retention deleted', async () => {
    const connection = await dynalite().freshTable();
    const { store, reads } = await countedStore({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 16 });
    const older = await DynamoDbStore.open({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 0 });
    const client = createClient(connection);
    try {
      for (let n = 0; n < 4; n++) await store.append(round('web', n));
      // A writer that keeps no head (an older Daniel) adds the newest lines: the head must not answer without them.
      await older.append(round('web', 4));
      reads.blobs = 0;
      await expectSame(store, client, connection.table, { order: 'desc', limit: 5, hosts: ['web'] });
      expect(reads.blobs).toBeGreaterThan(0);
      // The next merge does not know that segment either; the head answers again once its floor passes it.
      for (let n = 5; n < 9; n++) await store.append(round('web', n));
      reads.blobs = 0;
      await expectSame(store, client, connection.table, { order: 'desc', limit: 5, hosts: ['web'] });
      expect(reads.blobs).toBe(0);
      // Retention deletes every segment that arrived before round 8: the head's lines of them are left out.
      await store.deleteArrivedBefore(T0 + 8n * SECOND);
      await expectSame(store, client, connection.table, { order: 'desc', limit: 5, hosts: ['web'] });
      await expectSame(store, client, connection.table, { order: 'desc', limit: 15, hosts: ['web'] });
      // A lost head item: the listing answers, and the next append starts a new one.
      const key = headKey('web');
      await client.send(new DeleteItemCommand({ TableName: connection.table, Key: { pk: attr.s(key.pk), sk: attr.s(key.sk) } }));
      await expectSame(store, client, connection.table, { order: 'desc', limit: 5, hosts: ['web'] });
      await store.append(round('web', 9));
      expect((await readHead({ client, table: connection.table }, 'web', true)).head.version).toBe(1);
      await expectSame(store, client, connection.table, { order: 'desc', limit: 5, hosts: ['web'] });
    } finally {
      client.destroy();
      await store.close();
      await older.close();
    }
  });

  it('merges the appends of writers racing on one host, none lost', async () => {
    const connection = await dynalite().freshTable();
    const writers = await Promise.all([0, 1, 2].map(() => DynamoDbStore.open({ ...connection, shards: 2, maxSegmentBytes: 64, headLines: 64, settleMs: 0 })));
    const client = createClient(connection);
    try {
      // Each writer its own file, all at once, several rounds.
      for (let n = 0; n < 4; n++) {
        await Promise.all(writers.map((writer, w) => writer.append({ ...round('web', n), files: [round('web', n).files[w]!] })));
      }
      const { head } = await readHead({ client, table: connection.table }, 'web', true);
      const held = [...head.pieces.values()].reduce((sum, piece) => sum + piece.lines.length, 0);
      expect(held).toBe(48); // 4 rounds x 3 files x 4 lines: every merge landed
      const { store, reads } = await countedStore({ ...connection, shards: 2, headLines: 64 });
      await expectSame(store, client, connection.table, { order: 'desc', limit: 40, hosts: ['web'] });
      await expectSame(store, client, connection.table, { order: 'desc', limit: 100, hosts: ['web'] });
      expect(reads.blobs).toBe(0);
      await store.close();
    } finally {
      client.destroy();
      await Promise.all(writers.map((writer) => writer.close()));
    }
  });

  it('keeps a head of lines larger than an item as a floor alone', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open({ ...connection, shards: 1 });
    const client = createClient(connection);
    try {
      const big = randomBytes(225_000).toString('base64'); // 300 KB that do not compress
      await store.append({ host: 'web', files: [appendFile('a', 'a.log', fileLines([`${big} one`, `${big} two`]))], receivedAt: T0 });
      const { head } = await readHead({ client, table: connection.table }, 'web', true);
      expect(head.version).toBe(1);
      expect([...head.pieces.values()].every((piece) => piece.lines.length === 0)).toBe(true);
      expect(head.floor?.offset).toBe(300_005); // the newest line: nothing is above it
      await expectSame(store, client, connection.table, { order: 'desc', limit: 1, hosts: ['web'] });
    } finally {
      client.destroy();
      await store.close();
    }
  });
});
