/**
 * Live tail on DynamoDB with several Daniels (settle-window.ts): a lower seq range committed
 * after a higher one is still tailed, once, in seq order; a reservation that outlives half
 * the window is reserved again and its lines stored once; and by default a line shows about
 * a window after its append, never sooner. Real store instances on one dynalite table; the
 * late commit is a delay in the writer's beforeCommit hook, not a mock of DynamoDB.
 */
import { describe, expect, it } from 'vitest';
import { appendFile, fileLines, T0 } from '../store.case.js';
import type { StoredLine } from '../store.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore, type DynamoDbStoreOptions } from './dynamodb-store.js';

const dynalite = useDynalite();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A follower as follow.ts runs one: from tailStart, each page resuming after the page before. */
class TailLoop {
  readonly seen: StoredLine[] = [];
  polls = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly store: DynamoDbStore) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    let afterSeq = await this.store.tailStart();
    while (!this.stopped) {
      const page = await this.store.tail({ afterSeq, limit: 1000 });
      this.seen.push(...page.lines);
      afterSeq = Math.max(afterSeq, page.lastSeq);
      this.polls += 1;
      await sleep(20);
    }
  }

  /** Waits (bounded) until `count` lines were seen, then stops. */
  async collect(count: number, timeoutMs = 20_000): Promise<StoredLine[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.seen.length < count && performance.now() < deadline) await sleep(20);
    await this.stop();
    return this.seen;
  }

  async pollsAfter(polls: number): Promise<void> {
    const target = this.polls + polls;
    while (this.polls < target) await sleep(10);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Every line exactly once, in strictly increasing seq order. */
function expectExactlyOnceInOrder(seen: StoredLine[], texts: string[]): void {
  expect([...seen.map((l) => l.line)].sort()).toEqual([...texts].sort());
  const seqs = seen.map((l) => l.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
}

/** A store whose commits wait for `hold` while it is armed (a slow Daniel). */
function slowCommits(): { options: Pick<DynamoDbStoreOptions, 'beforeCommit'>; arm: (hold: (seq: number) => Promise<void>) => Promise<number> } {
  let armed: ((seq: number) => Promise<void>) | undefined;
  let reached: (seq: number) => void = () => undefined;
  return {
    options: {
      beforeCommit: async ({ minSeq }) => {
        const hold = armed;
        armed = undefined;
        if (hold === undefined) return;
        reached(minSeq);
        await hold(minSeq);
      },
    },
    /** Arms the hold for the next commit; resolves with that commit's first seq when it is reached. */
    arm: (hold) =>
      new Promise<number>((resolve) => {
        reached = resolve;
        armed = hold;
      }),
  };
}

async function storesOn(settleMs: number, slow: Pick<DynamoDbStoreOptions, 'beforeCommit'>): Promise<{ a: DynamoDbStore; b: DynamoDbStore; reader: DynamoDbStore; close: () => Promise<void> }> {
  const connection = await dynalite().freshTable();
  const [a, b, reader] = await Promise.all([
    DynamoDbStore.open({ ...connection, settleMs, ...slow }),
    DynamoDbStore.open({ ...connection, settleMs }),
    DynamoDbStore.open({ ...connection, settleMs }),
  ]);
  return { a, b, reader, close: async () => void (await Promise.all([a.close(), b.close(), reader.close()])) };
}

const A_TEXTS = ['a one', 'a two', 'a three', 'a four'];
const B_TEXTS = ['b one', 'b two', 'b three'];

describe('dynamodb store: live tail with several Daniels', () => {
  it('tails a lower seq range committed after a higher one: every line once, in seq order', async () => {
    // A wide window, so A's late commit stays well within half of it even on a loaded machine.
    const slow = slowCommits();
    const { a, b, reader, close } = await storesOn(4000, slow.options);
    try {
      const tail = new TailLoop(reader);
      await tail.pollsAfter(1); // it has started (a new tail waits until its start has settled)
      let release: () => void = () => undefined;
      const reached = slow.arm(() => new Promise<void>((resolve) => (release = resolve)));
      const appendA = a.append({ host: 'web', files: [appendFile('fa', 'a.log', fileLines(A_TEXTS))], receivedAt: T0 });
      const aFirstSeq = await reached;
      // B reserves above A's range and commits first; the follower polls while A's range is still open.
      await b.append({ host: 'web', files: [appendFile('fb', 'b.log', fileLines(B_TEXTS))], receivedAt: T0 });
      await tail.pollsAfter(3);
      release();
      expect(await appendA).toEqual({ accepted: A_TEXTS.length, duplicates: 0 });

      const seen = await tail.collect(A_TEXTS.length + B_TEXTS.length);
      expectExactlyOnceInOrder(seen, [...A_TEXTS, ...B_TEXTS]);
      // The race happened: A kept its reservation, below B's, and committed it after B.
      const aSeqs = seen.filter((l) => l.line.startsWith('a ')).map((l) => l.seq);
      const bSeqs = seen.filter((l) => l.line.startsWith('b ')).map((l) => l.seq);
      expect(aSeqs[0]).toBe(aFirstSeq);
      expect(Math.max(...aSeqs)).toBeLessThan(Math.min(...bSeqs));
    } finally {
      await close();
    }
  }, 60_000);

  it('starts a new follower below a range still open, so it shows that range once it commits', async () => {
    const slow = slowCommits();
    const { a, b, reader, close } = await storesOn(4000, slow.options);
    try {
      await reader.tailStart(); // the reader holds a settled sample: a new follower starts at once
      let release: () => void = () => undefined;
      const reached = slow.arm(() => new Promise<void>((resolve) => (release = resolve)));
      const appendA = a.append({ host: 'web', files: [appendFile('fa', 'a.log', fileLines(A_TEXTS))], receivedAt: T0 });
      await reached;
      await b.append({ host: 'web', files: [appendFile('fb', 'b.log', fileLines(B_TEXTS))], receivedAt: T0 });
      // Starting at the highest committed seq (B's) would pass A's lower range before it commits.
      const tail = new TailLoop(reader);
      await tail.pollsAfter(1);
      release();
      await appendA;
      expectExactlyOnceInOrder(await tail.collect(A_TEXTS.length + B_TEXTS.length), [...A_TEXTS, ...B_TEXTS]);
    } finally {
      await close();
    }
  }, 60_000);

  it('gives up a reservation older than half the window and stores its lines once, with new seqs', async () => {
    const settleMs = 1000;
    const slow = slowCommits();
    const { a, b, reader, close } = await storesOn(settleMs, slow.options);
    try {
      const tail = new TailLoop(reader);
      await tail.pollsAfter(1);
      // A's first commit comes after a whole window: had it been sent, a follower would have passed its seqs.
      const reached = slow.arm(() => sleep(settleMs * 1.3));
      const appendA = a.append({ host: 'web', files: [appendFile('fa', 'a.log', fileLines(A_TEXTS))], receivedAt: T0 });
      const aFirstSeq = await reached;
      await b.append({ host: 'web', files: [appendFile('fb', 'b.log', fileLines(B_TEXTS))], receivedAt: T0 });
      expect(await appendA).toEqual({ accepted: A_TEXTS.length, duplicates: 0 });

      const seen = await tail.collect(A_TEXTS.length + B_TEXTS.length);
      expectExactlyOnceInOrder(seen, [...A_TEXTS, ...B_TEXTS]);
      const aSeqs = seen.filter((l) => l.line.startsWith('a ')).map((l) => l.seq);
      expect(Math.min(...aSeqs)).toBeGreaterThan(aFirstSeq + A_TEXTS.length - 1);
      // Stored once: search sees each line once, and a resend finds them all.
      const stored = await reader.search({ order: 'asc', limit: 100 });
      expect(stored.lines.map((l) => l.line).sort()).toEqual([...A_TEXTS, ...B_TEXTS].sort());
      expect(await b.append({ host: 'web', files: [appendFile('fa', 'a.log', fileLines(A_TEXTS))], receivedAt: T0 })).toEqual({ accepted: 0, duplicates: A_TEXTS.length });
    } finally {
      await close();
    }
  }, 60_000);

  it('by default shows a line about a second after its append, never sooner, and once', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open(connection);
    try {
      const tail = new TailLoop(store);
      await tail.pollsAfter(1);
      const appendedFrom = performance.now();
      await store.append({ host: 'web', files: [appendFile('f', 'app.log', fileLines(['hello']))], receivedAt: T0 });
      while (tail.seen.length === 0 && performance.now() - appendedFrom < 20_000) await sleep(10);
      const shownAfter = performance.now() - appendedFrom;
      const seen = await tail.collect(1);
      expect(seen.map((l) => l.line)).toEqual(['hello']);
      expect(shownAfter).toBeGreaterThanOrEqual(1000);
    } finally {
      await store.close();
    }
  }, 60_000);
});
