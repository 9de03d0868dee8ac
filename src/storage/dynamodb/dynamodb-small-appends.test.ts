/**
 * What keeps small appends cheap in the dynamodb store, kept correct: a small segment's data
 * and bloom share one item (and go with it), and the agent's size report rides on the file
 * name mention instead of a write of its own, the newest report winning across the names of
 * one identity.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../memory/memory-store.js';
import { appendFile, fileLines, T0 } from '../store.case.js';
import type { AppendRequest } from '../store.js';
import { createClient } from './dynamo-client.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();
const SECOND = 1_000_000_000n;

describe('dynamodb store: small appends', () => {
  it('keeps a small segment in one blob item, a large one in two, and retention deletes both kinds', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open(connection);
    const client = createClient(connection);
    const blobKeys = async (): Promise<string[]> => {
      const items = (await client.send(new ScanCommand({ TableName: connection.table }))).Items ?? [];
      return items.filter((item) => item.pk?.S?.startsWith('B#')).map((item) => item.sk!.S!).sort();
    };
    try {
      await store.append({ host: 'h', files: [appendFile('small', 'a.log', fileLines(['one needle', 'two']))], receivedAt: T0 });
      expect(await blobKeys()).toEqual(['c00']);
      // Varied text, so neither compression nor the bloom keeps it under one read unit.
      const large = Array.from({ length: 300 }, (_, i) => `line ${i} ${((i * 7919) % 10007).toString(36)} ${Math.sin(i).toString(36)}`);
      await store.append({ host: 'h', files: [appendFile('large', 'b.log', fileLines(large))], receivedAt: T0 + 10n * SECOND });
      expect(await blobKeys()).toEqual(['b00', 'c00', 'd00']);
      const found = await store.search({ order: 'desc', limit: 10, match: [{ kind: 'substring', text: 'needle', caseInsensitive: false }] });
      expect(found.lines.map((l) => l.line)).toEqual(['one needle']);
      expect((await store.context({ host: 'h', fileId: 'small', offset: 0, before: 0, after: 1 }))?.after.map((l) => l.line)).toEqual(['two']);
      expect(await store.deleteArrivedBefore(T0 + 20n * SECOND)).toEqual({ deletedLines: 302 });
      expect(await blobKeys()).toEqual([]);
    } finally {
      client.destroy();
      await store.close();
    }
  });

  it("shows an identity's newest size report, whichever name it came under and whatever its arrival time", async () => {
    const connection = await dynalite().freshTable();
    const one = await DynamoDbStore.open(connection);
    const two = await DynamoDbStore.open(connection);
    const reference = new MemoryStore();
    const lines = fileLines(['a', 'b', 'c', 'd']);
    const appends: [DynamoDbStore, AppendRequest][] = [
      [one, { host: 'h', files: [appendFile('f', 'app.log', lines.slice(0, 2), 100)], receivedAt: T0 + 5n }],
      // Rotated: the same identity under another name, reported through the other Daniel with an older arrival time.
      [two, { host: 'h', files: [appendFile('f', 'app.log.1', lines.slice(2, 3), 200)], receivedAt: T0 + 3n }],
      [one, { host: 'h', files: [appendFile('g', 'app.log', fileLines(['new']), 10)], receivedAt: T0 + 6n }],
      // A size report alone, then a resend (all duplicates) with a size: each still the newest report.
      [one, { host: 'h', files: [appendFile('f', 'app.log.1', [], 250)], receivedAt: T0 + 4n }],
      [two, { host: 'h', files: [appendFile('f', 'app.log', lines.slice(0, 3), 300)], receivedAt: T0 + 7n }],
    ];
    try {
      for (const [store, request] of appends) {
        // The counts agree; the memory reference also reports the stored lines (for the alert hand-off), DynamoDB does not.
        const { stored: _stored, ...expected } = await reference.append(request);
        expect(await store.append(request)).toEqual(expected);
        for (const reader of [one, two]) expect(await reader.files('h')).toEqual(await reference.files('h'));
      }
      expect((await one.files('h'))?.find((f) => f.filename === 'app.log.1')).toMatchObject({ size: 300, offset: lines[2]!.end });
    } finally {
      await one.close();
      await two.close();
      await reference.close();
    }
  });
});
