/**
 * The dynamodb store's lazy newest-first listing: exact across hosts and shards (segments of
 * different files overlapping in time, timestamps out of offset order), and a newest-N search
 * reading only the first metadata pages, not the whole listing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { searchSegments } from '../../query/segment-search.js';
import { MemoryStore } from '../memory/memory-store.js';
import { appendFile, fileLines, T0 } from '../store.case.js';
import { storeProperties } from '../store-properties.case.js';
import type { SegmentMeta } from '../../query/backend.js';
import { createClient } from './dynamo-client.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { DynamoSegments } from './dynamo-segments.js';

const dynalite = useDynalite();

const SECOND = 1_000_000_000n;

/** Counts the metadata items Queries hand back: what listing costs. */
function countQueriedItems(client: DynamoDBClient): { items: number } {
  const counter = { items: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'QueryCommand') counter.items += (result.output as { Items?: unknown[] }).Items?.length ?? 0;
      return result;
    },
    { step: 'initialize' },
  );
  return counter;
}

describe('dynamodb store: newest-first listing', () => {
  describe('with 3 shards and a segment per few lines', () => {
    storeProperties(
      async () => {
        const connection = await dynalite().freshTable();
        // One writer, tails compared with the reference at once: no settle window (dynamodb-tail.test.ts tests it).
        const store = await DynamoDbStore.open({ ...connection, shards: 3, maxSegmentBytes: 24, settleMs: 0 });
        return { store, cleanup: () => store.close() };
      },
      () => new MemoryStore(),
      8,
    );
  });

  it('merges hosts and shards by max timestamp and lists what a full listing lists', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open({ ...connection, shards: 2, maxSegmentBytes: 16 });
    const client = createClient(connection);
    try {
      const hosts = ['web#1', '3:db', 'cache'];
      for (let round = 0; round < 6; round++) {
        for (const [h, host] of hosts.entries()) {
          // Timestamps jump back and forth within a file, and files of one host overlap in time.
          const ts = (i: number): bigint => T0 + BigInt(((round * 7 + i * 5 + h * 3) % 17) * 10) * SECOND;
          const files = ['a', 'b', 'c'].map((id) => appendFile(`${id}${h}`, `${id}.log`, fileLines([`${host} ${id} ${round} one`, `${host} ${id} ${round} two`], { start: round * 100, ts })));
          await store.append({ host, files, receivedAt: T0 + BigInt(round) });
        }
      }
      const segments = new DynamoSegments({ client, table: connection.table, shards: 2, now: () => T0 });
      for (const query of [{}, { hosts: ['web#1', 'cache'] }, { minTimestamp: T0 + 80n * SECOND }, { files: ['b.log'] }]) {
        const lazy: SegmentMeta[] = [];
        for await (const page of segments.listSegmentsInOrder(query, 'desc')!) lazy.push(...page);
        for (let i = 1; i < lazy.length; i++) expect(lazy[i - 1]!.maxTimestamp >= lazy[i]!.maxTimestamp).toBe(true);
        const full = await segments.listSegments(query);
        expect(full.length).toBeGreaterThan(10);
        expect(lazy.map((s) => s.id).sort()).toEqual(full.map((s) => s.id).sort());
        expect(lazy.find((s) => s.host === 'web#1')?.fileId).toMatch(/^[abc]0$/);
      }
      expect(segments.listSegmentsInOrder({}, 'asc')).toBeUndefined();
    } finally {
      client.destroy();
      await store.close();
    }
  });

  it('answers a newest-N search from the first metadata page, and a needle search from all of them', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open(connection);
    const client = createClient(connection);
    const reference = new MemoryStore();
    try {
      for (let round = 0; round < 150; round++) {
        // Two files whose segments interleave in time; the second one runs 3 s behind.
        const lines = (shift: number) => fileLines([`line ${round}`, round === 20 ? 'needle here' : `more ${round}`], { start: round * 20, ts: (i) => T0 + BigInt(round * 2 + i - shift) * SECOND });
        const request = { host: 'h', files: [appendFile('f1', 'one.log', lines(0)), appendFile('f2', 'two.log', lines(3))], receivedAt: T0 + BigInt(round) };
        await store.append(request);
        await reference.append(request);
      }
      const segments = new DynamoSegments({ client, table: connection.table, shards: 1, now: () => T0 });
      const read = countQueriedItems(client);
      const newest = await searchSegments(segments, { order: 'desc', limit: 10 });
      expect(newest.lines).toEqual((await reference.search({ order: 'desc', limit: 10 })).lines);
      expect(read.items).toBeLessThanOrEqual(1 + 16); // the host list, then one page of 300 segments
      read.items = 0;
      const needle = await searchSegments(segments, { order: 'desc', limit: 10, match: [{ kind: 'substring', text: 'needle', caseInsensitive: false }] });
      expect(needle.lines.map((l) => l.line)).toEqual(['needle here', 'needle here']);
      expect(read.items).toBe(1 + 300);
      read.items = 0;
      const oldest = await searchSegments(segments, { order: 'asc', limit: 10 });
      expect(oldest.lines).toEqual((await reference.search({ order: 'asc', limit: 10 })).lines);
      expect(read.items).toBe(1 + 300); // no index by min timestamp: oldest first lists everything
    } finally {
      client.destroy();
      await store.close();
      await reference.close();
    }
    // 300 appends to dynalite: about 10 s idle, over 30 s at load average 13.
  }, 90_000);
});
