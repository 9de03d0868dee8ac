/**
 * The property half of the contract: random appends (random files, offsets, timestamps,
 * resent and overlapping batches) then random queries must answer exactly as a reference
 * store fed the same appends.
 */
import fc from 'fast-check';
import { parseQuery } from '../query/language.js';
import { extractFields } from '../query/fields.js';
import { bucketStartMs } from '../query/histogram.js';
import { expect, it } from 'vitest';
import type { AppendLine, AppendRequest, LineFilter, Matcher, SearchQuery, Store, StoredLine } from './store.js';

const T0 = 1_700_000_000_000_000_000n;
const SECOND = 1_000_000_000n;
const ONE_BUCKET_MS = 366 * 86_400_000;

const IDENTITIES = [
  { fileId: 'a', filename: 'x.log' },
  { fileId: 'b', filename: 'x.log' },
  { fileId: 'c', filename: 'y.log' },
] as const;
const HOSTS = ['h1', 'h2'] as const;
const WORDS = ['alpha', 'Beta', 'GAMMA', 'needle', 'Needle', 'x', 'ÄRGER', 'ärger', '😀', "'; --", 'a b', '42', 'needleneedle', 'ERROR', 'error', 'service=api', 'status=503', 'level=warn', 'service=worker'];
/** Fields a source may give a line (labels, a container's stream...): stored beside the text. */
const STORED_FIELDS = [undefined, { service: 'api' }, { service: 'worker', level: 'error' }, { stream: 'stderr', status: '500' }] as const;
const QUERIES = ['service:api', 'service:worker', 'level:error', 'service:work*', '-service:*', 'alpha OR service:api', 'status:>=500', 'needle -service:api', 'stream:stderr status:500', 'service:/^a/'];

interface StepInput {
  host: number;
  identity: number;
  back: number;
  fresh: { words: string[]; second: number; cut: boolean; fields: number }[];
  size: number | null;
  sealGap: boolean;
}

export const stepArb: fc.Arbitrary<StepInput> = fc.record({
  host: fc.nat(HOSTS.length - 1),
  identity: fc.nat(IDENTITIES.length - 1),
  back: fc.nat(4),
  fresh: fc.array(fc.record({ words: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }), second: fc.nat(20), cut: fc.boolean(), fields: fc.nat(STORED_FIELDS.length - 1) }), { maxLength: 9 }),
  size: fc.option(fc.nat(10_000)),
  sealGap: fc.boolean(),
});

const matcherArb: fc.Arbitrary<Matcher> = fc.oneof(
  fc.record({ kind: fc.constant('substring' as const), text: fc.constantFrom(...WORDS, 'alp', 'eedl', 'ä', 'rger', '', 'a\nb', 'ROR', 'dlene'), caseInsensitive: fc.boolean() }),
  fc.record({ kind: fc.constant('regex' as const), pattern: fc.constantFrom('^alpha', 'needle$', 'a.?b', '[0-9]+', 'ärger|GAMMA', '^$'), caseInsensitive: fc.boolean() }),
  fc.record({ kind: fc.constant('query' as const), node: fc.constantFrom(...QUERIES).map(parseQuery), caseSensitive: fc.boolean() }),
);

export const filterArb: fc.Arbitrary<LineFilter> = fc.record(
  {
    hosts: fc.subarray([...HOSTS]),
    files: fc.subarray(['x.log', 'y.log', 'z.log']),
    since: fc.nat(20).map((s) => T0 + BigInt(s) * SECOND),
    until: fc.nat(22).map((s) => T0 + BigInt(s) * SECOND),
    match: fc.array(matcherArb, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

/** Turns the random steps into appends with real offsets: a step resends up to `back` known lines, then adds fresh ones. */
export function buildAppends(steps: StepInput[]): AppendRequest[] {
  const known = new Map<string, AppendLine[]>();
  return steps.map((step, index) => {
    const host = HOSTS[step.host]!;
    const identity = IDENTITIES[step.identity]!;
    const key = `${host}/${identity.fileId}`;
    const lines = known.get(key) ?? [];
    known.set(key, lines);
    const resent = lines.slice(Math.max(0, lines.length - step.back));
    const added: AppendLine[] = [];
    let offset = lines.length === 0 ? 0 : lines[lines.length - 1]!.end;
    if (step.sealGap) offset += 7; // a gap in offsets (a skipped region) must not confuse dedupe
    for (const fresh of step.fresh) {
      const line = fresh.words.join(' ');
      const end = offset + Buffer.byteLength(line) + (fresh.cut ? 0 : 1) + (fresh.cut && line === '' ? 1 : 0);
      const fields = STORED_FIELDS[fresh.fields];
      added.push({ offset, end, timestamp: T0 + BigInt(fresh.second) * SECOND, line, cut: fresh.cut, ...(fields === undefined ? {} : { fields: { ...fields } }) });
      offset = end;
    }
    lines.push(...added);
    return {
      host,
      files: [{ fileId: identity.fileId, filename: identity.filename, path: `/logs/${identity.filename}`, lines: [...resent, ...added], ...(step.size === null ? {} : { size: step.size }) }],
      receivedAt: T0 + BigInt(index),
    };
  });
}

async function allPages(store: Store, query: SearchQuery): Promise<StoredLine[]> {
  const lines: StoredLine[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const result = await store.search({ ...query, ...(cursor === undefined ? {} : { cursor }) });
    lines.push(...result.lines);
    if (result.nextCursor === undefined) return lines;
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

/** A store's field counts over every matching line equal those of a plain scan of the reference's lines. */
async function expectFieldCounts(store: Store, reference: Store, filter: LineFilter): Promise<void> {
  const lines = await allPages(reference, { ...filter, order: 'asc', limit: 50 });
  for (const name of [undefined, 'level', 'service', 'status', 'host', 'file', 'absent']) {
    const got = await store.fieldCounts!({ ...filter, ...(name === undefined ? {} : { name }), maxScanLines: 1_000_000 });
    const counts = new Map<string, number>();
    let withField = 0;
    for (const line of lines) {
      const fields: Record<string, string> = { ...extractFields(line.line, line.fields), host: line.host, file: line.filename };
      if (name === undefined) {
        withField++;
        for (const field of Object.keys(fields)) counts.set(field, (counts.get(field) ?? 0) + 1);
      } else if (Object.prototype.hasOwnProperty.call(fields, name)) {
        withField++;
        counts.set(fields[name]!, (counts.get(fields[name]!) ?? 0) + 1);
      }
    }
    const sorted = (map: Map<string, number>): [string, number][] => [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    expect(got && { lines: got.lines, withField: got.withField, counts: sorted(got.counts), partial: got.partial }).toEqual({ lines: lines.length, withField, counts: sorted(counts), partial: false });
  }
  // Per bucket, as the histogram's `by` reads it.
  const bucketed = await store.fieldCounts!({ ...filter, name: 'level', bucketMs: 3000, maxScanLines: 1_000_000 });
  const buckets = new Map<number, { lines: number; counts: Map<string, number> }>();
  for (const line of lines) {
    const start = bucketStartMs(line.timestamp, 3000);
    let bucket = buckets.get(start);
    if (bucket === undefined) buckets.set(start, (bucket = { lines: 0, counts: new Map() }));
    bucket.lines++;
    const level = extractFields(line.line, line.fields).level;
    if (level !== undefined) bucket.counts.set(level, (bucket.counts.get(level) ?? 0) + 1);
  }
  const flat = (map: Map<number, { lines: number; counts: Map<string, number> }> | undefined): unknown =>
    map && [...map].sort((a, b) => a[0] - b[0]).map(([start, bucket]) => [start, bucket.lines, [...bucket.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))]);
  expect(flat(bucketed?.buckets)).toEqual(flat(buckets));
}

export function storeProperties(
  makeStore: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
  makeReference: () => Store,
  runs: number,
): void {
  it('answers random queries exactly as the reference store after random appends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(filterArb, fc.constantFrom('asc' as const, 'desc' as const), fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 6 }),
        fc.nat(60),
        fc.nat(40),
        async (steps, queries, tailAfter, indexAfter) => {
          const under = await makeStore();
          const reference = makeReference();
          try {
            const appends = buildAppends(steps);
            for (const [index, request] of appends.entries()) {
              // Field statistics for the segments written so far (a store that computes them): later appends merge some of them away.
              if (index === indexAfter % appends.length) (under.store as { fieldStatsIndexer?: { runToEnd(): number } }).fieldStatsIndexer?.runToEnd();
              const [got, wanted] = [await under.store.append(request), await reference.append(request)];
              expect({ accepted: got.accepted, duplicates: got.duplicates }).toEqual({ accepted: wanted.accepted, duplicates: wanted.duplicates });
              // The lines stored are optional to report; a store that reports them reports the reference's.
              if (got.stored !== undefined) expect(got.stored).toEqual(wanted.stored);
            }
            expect(await under.store.hosts()).toEqual(await reference.hosts());
            for (const host of [...HOSTS, 'nobody']) expect(await under.store.files(host)).toEqual(await reference.files(host));
            expect(await under.store.lastSeq()).toBe(await reference.lastSeq());
            const [stats, referenceStats] = [await under.store.stats(), await reference.stats()];
            expect([stats.lines, stats.rawBytes]).toEqual([referenceStats.lines, referenceStats.rawBytes]);
            for (const [filter, order, limit] of queries) {
              const query: SearchQuery = { ...filter, order, limit };
              expect((await under.store.search(query)).lines).toEqual((await reference.search(query)).lines);
              expect(await allPages(under.store, query)).toEqual(await allPages(reference, query));
              expect(await under.store.histogram({ ...filter, bucketMs: 3000 })).toEqual(await reference.histogram({ ...filter, bucketMs: 3000 }));
              // One bucket spanning everything: the count-only path of segment stores (text searched without columns).
              expect(await under.store.histogram({ ...filter, bucketMs: ONE_BUCKET_MS })).toEqual(await reference.histogram({ ...filter, bucketMs: ONE_BUCKET_MS }));
              expect(await under.store.tail({ ...filter, afterSeq: tailAfter, limit })).toEqual(await reference.tail({ ...filter, afterSeq: tailAfter, limit }));
              if (under.store.fieldCounts !== undefined) await expectFieldCounts(under.store, reference, filter);
            }
            const everything = await allPages(reference, { order: 'asc', limit: 50 });
            for (const line of everything.filter((_, i) => i % 5 === 0)) {
              const query = { host: line.host, fileId: line.fileId, offset: line.offset, before: 3, after: 2 };
              expect(await under.store.context(query)).toEqual(await reference.context(query));
            }
          } finally {
            await under.cleanup();
            await reference.close();
          }
        },
      ),
      { numRuns: runs },
    );
  }, 120_000);
}
