import { describe, expect, test } from 'vitest';
import { PagePrefetch, type MadePage } from './page-prefetch.js';

const page = (text: string): MadePage => ({ body: Buffer.from(text), next: undefined });

function counting(): { made: number; taken: number; counters: { made(): void; taken(): void } } {
  const c = { made: 0, taken: 0, counters: { made: () => void (c.made += 1), taken: () => void (c.taken += 1) } };
  return c;
}

describe('PagePrefetch', () => {
  test('a page made ahead is given out once, to its own key only', async () => {
    const c = counting();
    const pages = new PagePrefetch(c.counters);
    pages.start('a', () => Promise.resolve(page('A')));
    expect(pages.take('b')).toBeUndefined();
    expect((await pages.take('a'))?.body.toString()).toBe('A');
    expect(pages.take('a')).toBeUndefined();
    expect([c.made, c.taken]).toEqual([1, 1]);
  });

  test('one page is made at a time; a second start while one runs is refused', async () => {
    const pages = new PagePrefetch();
    let finish!: (made: MadePage) => void;
    pages.start('a', () => new Promise((resolve) => (finish = resolve)));
    let second = false;
    pages.start('b', () => {
      second = true;
      return Promise.resolve(page('B'));
    });
    expect(second).toBe(false);
    expect(pages.take('b')).toBeUndefined();
    const pending = pages.take('a')!;
    finish(page('A'));
    expect((await pending)?.body.toString()).toBe('A');
    // The first is done: the next may start.
    pages.start('b', () => Promise.resolve(page('B')));
    expect((await pages.take('b'))?.body.toString()).toBe('B');
  });

  test('stop aborts the page being made and forgets it; a request already waiting gets undefined and makes its own', async () => {
    const pages = new PagePrefetch();
    let seen: AbortSignal | undefined;
    pages.start('a', (signal) => {
      seen = signal;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error("aborted"))));
    });
    const waiting = pages.take('a')!;
    pages.start('c', () => Promise.resolve(page('C'))); // refused: 'a' still runs
    pages.stop();
    expect(seen?.aborted).toBe(true);
    expect(await waiting).toBeUndefined();
    expect(pages.take('c')).toBeUndefined();

    pages.start('d', (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error("aborted")))));
    pages.stop();
    expect(pages.take('d')).toBeUndefined();
  });

  test('a page whose making failed is undefined to its taker, never an error', async () => {
    const pages = new PagePrefetch();
    pages.start('a', () => Promise.reject(new Error('store down')));
    expect(await pages.take('a')).toBeUndefined();
  });

  test('at most maxPages kept, the oldest dropped first; each kept for ttlMs', async () => {
    let now = 0;
    const pages = new PagePrefetch(undefined, 2, 1000, () => now);
    for (const key of ['a', 'b', 'c']) {
      pages.start(key, () => Promise.resolve(page(key)));
      await new Promise(setImmediate);
    }
    expect(pages.take('a')).toBeUndefined();
    expect((await pages.take('c'))?.body.toString()).toBe('c');
    now = 999;
    pages.start('d', () => Promise.resolve(page('d')));
    now = 1000; // 'b' was kept at 0: gone; 'd' at 999: kept
    expect(pages.take('b')).toBeUndefined();
    expect((await pages.take('d'))?.body.toString()).toBe('d');
  });
});
