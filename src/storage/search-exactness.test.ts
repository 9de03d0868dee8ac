/**
 * Search is exact: a differential property test of the whole engine (literal extraction,
 * trigram blooms, the ASCII shortcut, indexOf walks, segments merged and sealed, the count
 * path of histograms) through a real SQLite store, against a plain scan of every line with
 * the same RegExp or substring. `FC_SEED=random` explores further; `SEARCH_RUNS=n` runs more.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { compileRegex, lowercasePattern } from '../query/matcher.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Matcher, Store } from './store.js';

const RUNS = Number(process.env.SEARCH_RUNS ?? 30);
const T0 = 1_700_000_000_000_000_000n;

// Characters that make extraction and blooms interesting: digits, dots, quantifier-looking
// braces, letters in both cases, non-ASCII letters whose case folds oddly, an astral symbol.
const ASCII_CHARS = ['a', 'a', 'x', 'y', 'A', 'X', '1', '2', '0', '9', '.', ' ', '-', '{', '}', ',', 'E', 'r', 'o'];
const OTHER_CHARS = ['é', 'É', 'Σ', 'σ', 'ς', 'İ', 'K', '😀', 'ß'];
const asciiLine = fc.array(fc.constantFrom(...ASCII_CHARS), { maxLength: 24 }).map((chars) => chars.join(''));
const anyLine = fc.array(fc.constantFrom(...ASCII_CHARS, ...OTHER_CHARS), { maxLength: 24 }).map((chars) => chars.join(''));
// Whole files of ASCII (so their segments take the ASCII shortcuts) and files with any text.
const fileArb = fc.oneof(fc.array(asciiLine, { minLength: 1, maxLength: 30 }), fc.array(anyLine, { minLength: 1, maxLength: 30 }));

const escape = (char: string): string => (/[\\^$.|?*+()[\]{}]/.test(char) ? `\\${char}` : char);
const atom = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ASCII_CHARS, ...OTHER_CHARS).map(escape) },
  { weight: 2, arbitrary: fc.constantFrom('[0-9]', '[a-z]', '[^a]', '\\d', '\\w', '\\W', '\\s', '.', '\\x61', '\\u0041', '\\.', '(ax|y)', '(?:a{2})', '\\b') },
);
const quantifier = fc.constantFrom('', '', '', '?', '*', '+', '{2}', '{1,3}', '{2,10}', '{0,2}', '{2,}', '+?', '{1,2}?', '{,2}');
const patternArb = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.tuple(atom, quantifier), { minLength: 1, maxLength: 8 }).map((parts) => parts.map(([a, q]) => a + q).join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.boolean(), fc.boolean()).map(([start, end]) => `${start ? '^' : ''}a{2,}x${end ? '$' : ''}`) },
  { weight: 1, arbitrary: fc.constantFrom('[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}', 'xa{2,10}y', 'a|xy', '10{2}') },
);
const substringArb = fc.oneof(asciiLine, anyLine).filter((text) => text.length > 0);

const matcherArb: fc.Arbitrary<Matcher> = fc.oneof(
  fc.record({ kind: fc.constant('regex' as const), pattern: patternArb, caseInsensitive: fc.boolean() }),
  fc.record({ kind: fc.constant('substring' as const), text: substringArb, caseInsensitive: fc.boolean() }),
);

/** The documented meaning of one condition, tested on one line with nothing but the RegExp or includes(). */
function plainTest(matcher: Matcher): (line: string) => boolean {
  if (matcher.kind === 'query') throw new Error('query matchers have their own differential test (src/server/routes/query.test.ts)');
  if (matcher.kind === 'substring') {
    return matcher.caseInsensitive ? (line) => line.toLowerCase().includes(matcher.text.toLowerCase()) : (line) => line.includes(matcher.text);
  }
  // case=insensitive: the pattern's literal letters lowercased, run on the lowercased line.
  const regex = new RegExp(matcher.caseInsensitive ? lowercasePattern(matcher.pattern) : matcher.pattern);
  return matcher.caseInsensitive ? (line) => regex.test(line.toLowerCase()) : (line) => regex.test(line);
}

/** Patterns the linear engine refuses are answered with INVALID_REGEX (tested elsewhere), not searched. */
const compiles = (matcher: Matcher): boolean => {
  if (matcher.kind !== 'regex') return true;
  try {
    compileRegex(matcher.pattern, matcher.caseInsensitive);
    return true;
  } catch {
    return false;
  }
};

async function searchAll(store: Store, match: Matcher[]): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.search({ order: 'desc', limit: 97, match, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.lines.map((line) => `${line.fileId}@${line.offset}`));
    if (page.nextCursor === undefined) return found.sort();
    cursor = page.nextCursor;
  }
}

it('search, histogram and tail find exactly the lines a plain scan with the same RegExp finds', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fileArb, { minLength: 1, maxLength: 4 }),
      fc.array(fc.array(matcherArb.filter(compiles), { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 6 }),
      async (files, queries) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'daniel-exact-'));
        // Tiny segments: lines spread over many sealed and merged segments, each with its bloom.
        const store = await SqliteStore.open({ dataDir, policy: { sealBytes: 60, directSealBytes: 40 } });
        try {
          const all: { key: string; line: string }[] = [];
          for (const [f, texts] of files.entries()) {
            // Two appends per file, so both direct seals and merges happen.
            let offset = 0;
            const lines = texts.map((line, i) => {
              const appended = { offset, end: offset + Buffer.byteLength(line) + 1, timestamp: T0 + BigInt(i), line, cut: false };
              all.push({ key: `f${f}@${offset}`, line });
              offset = appended.end;
              return appended;
            });
            const half = Math.ceil(lines.length / 2);
            for (const part of [lines.slice(0, half), lines.slice(half)]) {
              await store.append({ host: 'h', files: [{ fileId: `f${f}`, filename: `file${f}`, path: '', lines: part }], receivedAt: T0 });
            }
          }
          for (const match of queries) {
            const tests = match.map(plainTest);
            const expected = all.filter(({ line }) => tests.every((test) => test(line))).map(({ key }) => key).sort();
            const label = JSON.stringify(match);
            expect(await searchAll(store, match), label).toEqual(expected);
            const histogram = await store.histogram({ bucketMs: 3_600_000, match });
            expect(histogram.buckets.reduce((sum, bucket) => sum + bucket.count, 0), `histogram ${label}`).toBe(expected.length);
            const tail = await store.tail({ afterSeq: 0, limit: 10_000, match });
            expect(tail.lines.map((line) => `${line.fileId}@${line.offset}`).sort(), `tail ${label}`).toEqual(expected);
          }
        } finally {
          await store.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: RUNS },
  );
}, 120_000);
