import { describe, expect, test } from 'vitest';
import { keepTickShape, keptTickEntry } from './tick-shape.js';

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

describe('keepTickShape', () => {
  test("keeps one of Node's nextTick entries: the object with the async id symbol, callback and args", async () => {
    keepTickShape();
    await nextTick();
    const entry = keptTickEntry();
    expect(entry).toBeDefined();
    // If Node stops building its tick entries this way, the entry kept is not one and keeps nothing.
    const symbols = Object.getOwnPropertySymbols(entry).map((symbol) => symbol.description);
    expect(symbols).toEqual(expect.arrayContaining(['async_id_symbol', 'trigger_async_id_symbol']));
    expect(Object.keys(entry as object)).toEqual(['callback', 'args']);
  });

  test('keeps the first entry: calling it again schedules nothing', async () => {
    keepTickShape();
    await nextTick();
    const first = keptTickEntry();
    keepTickShape();
    await nextTick();
    expect(keptTickEntry()).toBe(first);
  });
});
