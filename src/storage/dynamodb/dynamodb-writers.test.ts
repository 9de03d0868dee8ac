/**
 * Several Daniels on one table (two store instances, as two processes would be): what one
 * stores the other serves, the same batch sent to both at once is stored once, and a
 * writer killed between its commit and its bookkeeping loses and duplicates nothing.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { appendFile, fileLines, T0 } from '../store.case.js';
import type { AppendRequest, Store, StoredLine } from '../store.js';
import { createClient } from './dynamo-client.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { hostKeyPk, identitySk } from './table-design.js';

const dynalite = useDynalite();

async function everything(store: Store): Promise<StoredLine[]> {
  const lines: StoredLine[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.search({ order: 'asc', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    lines.push(...page.lines);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return lines;
}

async function twoDaniels(): Promise<[DynamoDbStore, DynamoDbStore, () => Promise<void>]> {
  const connection = await dynalite().freshTable();
  const one = await DynamoDbStore.open(connection);
  const two = await DynamoDbStore.open(connection);
  return [one, two, async () => { await one.close(); await two.close(); }];
}

describe('dynamodb store: several Daniels on one table', () => {
  it('serves through one Daniel what was ingested through the other', async () => {
    const [one, two, close] = await twoDaniels();
    try {
      await one.append({ host: 'web', files: [appendFile('id1', 'app.log', fileLines(['alpha', 'beta', 'gamma']), 30)], receivedAt: T0 });
      expect((await everything(two)).map((l) => l.line)).toEqual(['alpha', 'beta', 'gamma']);
      expect(await two.hosts()).toEqual([{ host: 'web', lastSeen: T0, lines: 3, bytes: 14 }]);
      expect((await two.files('web'))?.[0]).toMatchObject({ filename: 'app.log', lines: 3, offset: 17, size: 30 });
      expect(await two.lastSeq()).toBe(3);
      // And the other way round, continuing the same file: the second Daniel knows the end offset.
      const more = fileLines(['alpha', 'beta', 'gamma', 'delta']);
      expect(await two.append({ host: 'web', files: [appendFile('id1', 'app.log', more)], receivedAt: T0 + 1n })).toEqual({ accepted: 1, duplicates: 3 });
      expect((await everything(one)).map((l) => l.line)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
      // Live tail shows it once the settle window (default 1 s) has passed.
      const deadline = performance.now() + 20_000;
      let tailed = await one.tail({ afterSeq: 3, limit: 10 });
      while (tailed.lines.length === 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        tailed = await one.tail({ afterSeq: 3, limit: 10 });
      }
      expect(tailed.lines.map((l) => l.line)).toEqual(['delta']);
    } finally {
      await close();
    }
  });

  it('stores a batch sent to both Daniels at once exactly once', async () => {
    const [one, two, close] = await twoDaniels();
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(i)}`);
      const all = fileLines(texts);
      const sent = new Set<string>();
      for (let round = 0; round < 10; round++) {
        // Overlapping batches of two files, each sent to both Daniels at the same moment.
        const from = round * 4;
        const files = [appendFile('a', 'a.log', all.slice(from, from + 8)), appendFile('b', 'b.log', all.slice(Math.max(0, from - 2), from + 4))];
        const batch: AppendRequest = { host: 'h', files, receivedAt: T0 + BigInt(round) };
        const before = sent.size;
        for (const file of files) for (const line of file.lines) sent.add(`${file.fileId}/${line.offset}`);
        const [r1, r2] = await Promise.all([one.append(batch), two.append(batch)]);
        expect(r1.accepted + r2.accepted).toBe(sent.size - before);
        expect(r1.accepted + r1.duplicates).toBe(r2.accepted + r2.duplicates);
      }
      const expected = sent.size;
      for (const store of [one, two]) {
        const stored = await everything(store);
        expect(stored).toHaveLength(expected);
        for (const fileId of ['a', 'b']) {
          const offsets = stored.filter((l) => l.fileId === fileId).map((l) => l.offset);
          expect(new Set(offsets).size).toBe(offsets.length);
          expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
        }
        const summaries = await store.hosts();
        expect(summaries[0]?.lines).toBe(expected);
      }
      const seqs = (await everything(one)).map((l) => l.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      // Both Daniels reserved seqs for the same lines (the race happened) and one gave them up.
      expect(Math.max(...seqs)).toBeGreaterThan(expected);
    } finally {
      await close();
    }
  });

  it('loses and duplicates nothing when the end-offset hint is behind the lines', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open(connection);
    const client = createClient(connection);
    try {
      const lines = fileLines(['one', 'two', 'three', 'four']);
      await store.append({ host: 'h', files: [appendFile('f', 'log', lines.slice(0, 2))], receivedAt: T0 });
      await store.append({ host: 'h', files: [appendFile('f', 'log', lines.slice(2, 3))], receivedAt: T0 });
      // A hint behind the lines (retention's, or one an older Daniel left when killed before its bookkeeping): the slots are the truth.
      const key = { pk: { S: hostKeyPk('h') }, sk: { S: identitySk('f') } };
      await client.send(new UpdateItemCommand({ TableName: connection.table, Key: key, UpdateExpression: 'SET e = :zero', ExpressionAttributeValues: { ':zero': { N: '0' } } }));
      const other = await DynamoDbStore.open(connection);
      try {
        expect(await other.append({ host: 'h', files: [appendFile('f', 'log', lines)], receivedAt: T0 + 1n })).toEqual({ accepted: 1, duplicates: 3 });
      } finally {
        await other.close();
      }
      expect((await everything(store)).map((l) => l.line)).toEqual(['one', 'two', 'three', 'four']);
      expect((await store.files('h'))?.[0]?.offset).toBe(lines[3]!.end);
    } finally {
      client.destroy();
      await store.close();
    }
  });
});
