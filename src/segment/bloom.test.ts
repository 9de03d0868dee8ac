import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bloomMayContain, bloomMayContainExact, bloomMayHoldToken, buildTrigramBloom, buildTrigramBloomJs, exactTrigrams, foldBloom, nativeBloomLoaded, needleTrigrams, TOKEN_MIN, tokenProbe } from './bloom.js';

const text = (s: string): Buffer => Buffer.from(s);
const admits = (bloom: Uint8Array, needle: string, caseInsensitive: boolean): boolean =>
  caseInsensitive ? bloomMayContain(bloom, needleTrigrams(needle)) : bloomMayContainExact(bloom, exactTrigrams(needle), needleTrigrams(needle));

describe('trigram blooms', () => {
  it('never rules out a substring of the text, exactly or lowercased, full or folded', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ 01-é😀\n'), minLength: 3, maxLength: 400 }), fc.nat(), fc.nat(20), fc.constantFrom(2 as const, 5 as const), (body, start, length, format) => {
        const bloom = buildTrigramBloom(text(body), format);
        const chars = Array.from(body); // by code point: half a surrogate pair is no substring
        const from = start % chars.length;
        const needle = chars.slice(from, from + length).join('');
        for (const candidate of [bloom, foldBloom(bloom, 2), foldBloom(bloom, 4)]) {
          expect(admits(candidate, needle, false)).toBe(true);
          expect(admits(candidate, needle.toLowerCase(), true)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells a case-sensitive needle from the same letters in another case', () => {
    const lower = buildTrigramBloom(text('level=error code=7\n'.repeat(20)));
    expect(admits(lower, 'ERROR', false)).toBe(false);
    expect(admits(lower, 'ERROR'.toLowerCase(), true)).toBe(true);
    const upper = buildTrigramBloom(text('level=ERROR code=7\n'.repeat(20)));
    expect(admits(upper, 'ERROR', false)).toBe(true);
    expect(admits(upper, 'Error', false)).toBe(false);
    expect(admits(upper, 'error', true)).toBe(true);
  });

  it('reads older blooms (bits only, lowercased trigrams only, unmixed hashes) without false negatives', () => {
    // A format 1 bloom of 'level=error code=7\n', as the earlier builder wrote it.
    const v1 = Buffer.from('81020911112242000000200a00a30a00008041000810048c0001240010241644', 'hex');
    expect(admits(v1, 'ERROR', false)).toBe(true); // probed lowercased: cannot tell the case apart
    expect(admits(v1, 'level=error', false)).toBe(true);
    expect(admits(v1, 'code=7', true)).toBe(true);
    expect(admits(v1, 'warn', false)).toBe(false);
    expect(admits(foldBloom(v1, 4), 'error', false)).toBe(true);
  });

  it('cannot rule anything out with bytes that are not a bloom of ours', () => {
    expect(admits(new Uint8Array(7), 'anything', false)).toBe(true);
    expect(admits(new Uint8Array(13), 'anything', true)).toBe(true);
    expect(admits(Uint8Array.from([...new Uint8Array(16), 9]), 'anything', false)).toBe(true);
  });

  it('folds to a quarter of the bits, keeping the format', () => {
    const bloom = buildTrigramBloom(text(Array.from({ length: 2000 }, (_, i) => `line ${i * 7919} Value=${i}`).join('\n')));
    const folded = foldBloom(bloom, 4);
    expect(folded.length - 1).toBe((bloom.length - 1) / 4);
    expect(folded[folded.length - 1]).toBe(bloom[bloom.length - 1]);
    expect(admits(folded, 'qzx-needle-8f3a', false)).toBe(false);
  });

  it('folds the same, a word or a byte at a time: each folded byte is the OR of the parts', () => {
    const bloom = buildTrigramBloom(text(Array.from({ length: 3000 }, (_, i) => `req ${i * 104729} user=U${i % 97} took ${i % 13} ms`).join('\n')), 3);
    // The same bytes at an offset that is no multiple of 4 (a blob read back, a slice of a page).
    const shifted = Buffer.alloc(bloom.length + 1);
    bloom.copy(shifted, 1);
    const unaligned = shifted.subarray(1);
    expect(unaligned.byteOffset % 4).not.toBe(0);
    for (const factor of [2, 4]) {
      const size = (bloom.length - 1) / factor;
      const expected = new Uint8Array(size + 1);
      for (let i = 0; i < size; i++) for (let part = 0; part < factor; part++) expected[i]! |= bloom[part * size + i]!;
      expected[size] = bloom[bloom.length - 1]!;
      expect(foldBloom(bloom, factor)).toEqual(expected);
      expect(foldBloom(unaligned, factor)).toEqual(expected);
    }
  });
});

describe('whole tokens (format 3)', () => {
  const sample = Buffer.from('{"trace_id":"4bf92f3577b34da6","msg":"ok"}\nlevel=info req=9f3a77c2e1d04b5a user=bob\n');

  it('holds every long token of the text: a present one is never ruled out, an absent one is', () => {
    const bloom = buildTrigramBloom(sample, 3);
    for (const token of ['4bf92f3577b34da6', '9f3a77c2e1d04b5a']) expect(bloomMayHoldToken(bloom, tokenProbe(token)!)).toBe(true);
    const absent = Array.from({ length: 50 }, (_, i) => `00ff${i.toString(16).padStart(4, '0')}deadbeef`);
    expect(absent.filter((token) => bloomMayHoldToken(bloom, tokenProbe(token)!)).length).toBeLessThan(5);
    // A part of a token is not a token: trigrams serve substrings.
    expect(tokenProbe('short')).toBeUndefined();
    expect(tokenProbe('has space in it')).toBeUndefined();
  });

  it('format 4 sets tokens with more probes: present ones are found, full or folded, and a format 3 bloom still reads with 3', () => {
    const texts = Array.from({ length: 300 }, (_, i) => `{"trace_id":"${(i * 2654435761).toString(16).padStart(16, 'a')}","n":${i}}`).join('\n');
    const v4 = buildTrigramBloom(Buffer.from(texts), 4);
    const v3 = buildTrigramBloom(Buffer.from(texts), 3);
    for (let i = 0; i < 300; i += 7) {
      const probe = tokenProbe((i * 2654435761).toString(16).padStart(16, 'a'))!;
      for (const bloom of [v4, foldBloom(v4, 2), foldBloom(v4, 4), v3, foldBloom(v3, 2)]) expect(bloomMayHoldToken(bloom, probe)).toBe(true);
    }
    const absent = Array.from({ length: 400 }, (_, i) => tokenProbe(`00ff${i.toString(16).padStart(4, '0')}deadbeef`)!);
    const admitted = (bloom: Uint8Array): number => absent.filter((probe) => bloomMayHoldToken(bloom, probe)).length;
    expect(admitted(v4)).toBeLessThanOrEqual(admitted(v3));
  });

  it('an older bloom never rules a segment out by a token; folding keeps the format', () => {
    expect(bloomMayHoldToken(buildTrigramBloom(sample), tokenProbe('00ff0000deadbeef')!)).toBe(true);
    const folded = foldBloom(buildTrigramBloom(sample, 3), 2);
    expect(bloomMayHoldToken(folded, tokenProbe('4bf92f3577b34da6')!)).toBe(true);
  });
});

describe('format 5: a trigram array and a token array, sized by what they hold', () => {
  const lines = Array.from(
    { length: 2400 },
    (_, i) =>
      `2026-01-05T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z host${i % 9}.example.net ` +
      `sshd[${1000 + i}]: Accepted publickey for user${i % 40} from 10.${i % 7}.${i % 250}.${(i * 7) % 250} trace_id=${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}c0ffee00 at 12:03:${String(i % 60).padStart(2, '0')}`,
  );
  const sample = Buffer.from(lines.join('\n') + '\n');
  const v4 = buildTrigramBloom(sample, 4);
  const v5 = buildTrigramBloom(sample, 5);
  const traceId = (i: number): string => `${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}c0ffee00`;
  const absent = Array.from({ length: 2000 }, (_, i) => tokenProbe(`absent${i.toString(16).padStart(6, '0')}beef`)!);
  const admitted = (bloom: Uint8Array): number => absent.filter((probe) => bloomMayHoldToken(bloom, probe)).length;

  it('is smaller than format 4 over lines that each hold a timestamp, and admits few absent tokens and trigrams', () => {
    expect(v5.length).toBeLessThan(v4.length / 2);
    expect(v5.length % 2).toBe(1); // never a power of two, nor one more: no older format reads it
    expect(admitted(v5)).toBeLessThan(10); // about 1 in 1,750 expected
    const needles = Array.from({ length: 300 }, (_, i) => `q${i}zx`);
    expect(needles.filter((needle) => admits(v5, needle, false)).length).toBeLessThan(30);
  });

  it('holds every long token but those that begin with a date or a time of day, which tokenProbe does not ask for', () => {
    for (let i = 0; i < 2400; i += 37) {
      expect(bloomMayHoldToken(v5, tokenProbe(traceId(i))!)).toBe(true);
      expect(bloomMayHoldToken(v5, tokenProbe(`host${i % 9}.example.net`)!)).toBe(true);
    }
    expect(bloomMayHoldToken(v5, tokenProbe('publickey')!)).toBe(true);
    for (const time of ['2026-01-05T00:00:01.001Z', '2026-01-05', '12:03:07', '00:01:02.5']) expect(tokenProbe(time)).toBeUndefined();
    // A time is still found by its trigrams.
    expect(admits(v5, '2026-01-05T00:00:01.001Z', false)).toBe(true);
    expect(admits(v5, '12:03:07', false)).toBe(true);
    // Tokens that only look alike are held and asked for.
    expect(tokenProbe('2026-01-5x-extra')).toBeDefined();
    expect(tokenProbe('1:03:07:99')).toBeDefined();
  });

  it('folds its trigram array and keeps its token array whole', () => {
    for (const factor of [2, 4]) {
      const folded = foldBloom(v5, factor);
      expect(folded[folded.length - 1]).toBe(5);
      expect(folded.length).toBeLessThan(v5.length);
      expect(folded.length % 2).toBe(1);
      for (let i = 0; i < 2400; i += 37) expect(bloomMayHoldToken(folded, tokenProbe(traceId(i))!)).toBe(true);
      expect(admitted(folded)).toBe(admitted(v5));
      for (const needle of ['Accepted publickey', 'sshd[', 'USER39', 'trace_id=']) expect(admits(folded, needle, needle === 'USER39')).toBe(true);
    }
  });

  it('a damaged trailer rules nothing out', () => {
    const broken = Buffer.from(v5);
    broken.writeUInt32LE(broken.length, broken.length - 5); // a trigram array longer than the bloom
    expect(bloomMayHoldToken(broken, absent[0]!)).toBe(true);
    expect(admits(broken, 'q1zx', false)).toBe(true);
    expect(admits(buildTrigramBloom(Buffer.alloc(0), 5), 'abc', false)).toBe(false);
    expect(bloomMayHoldToken(buildTrigramBloom(Buffer.from('no long tokens'), 5), absent[0]!)).toBe(false);
  });
});

describe('the bloom bytes', () => {
  it('stay those of the format as first written: a faster builder may not change a bit', () => {
    // Sampled with the builder that set a token's bits once per occurrence, in two passes.
    const lines = Array.from({ length: 3000 }, (_, i) =>
      i % 3 === 0
        ? `{"time":"2026-01-05T00:00:${String(i % 60).padStart(2, '0')}Z","level":"Info","trace_id":"${((i * 2654435761) >>> 0).toString(16).padStart(8, '0')}deadbeef","msg":"GET /api/v1/items?id=${i}"}`
        : i % 3 === 1
          ? `ts=2026-01-05T00:00:00Z level=WARN service=api.gateway user=user-${i % 97} took_ms=${(i * 7) % 1000}`
          : `Jan  5 00:00:00 web-1 sshd[${i}]: Failed password for invalid user admin from 10.0.${i % 256}.${(i * 7) % 256} port ${1024 + i} ssh2`,
    );
    const sample = Buffer.from(lines.join('\n') + '\n');
    const digest = (bloom: Uint8Array): string => createHash('sha256').update(bloom).digest('hex');
    // The builder Daniel uses (the C one where it was built) and the JavaScript one alike.
    for (const build of [buildTrigramBloom, buildTrigramBloomJs]) {
      expect(digest(build(sample))).toBe('e983e89fa6ef51223331d80b96bdbe51edcd56aa79cd78123d8eaff8a765d406');
      expect(digest(build(sample, 3))).toBe('66c7d07aa7fa638f76a8317a0ec2248ef0c379f60e9aee4012e2f0dc7de0177e');
      expect(digest(build(sample, 4))).toBe('bd9385adc725aba1b87dd89bde290700c4b4535914ae658c38db69468c324865');
      expect(digest(build(sample, 5))).toBe('c78cd675a6c47a2f506a9084dfc390deaec9b184c24a5cc432ad0d976b93f170');
    }
    // Texts shorter than a trigram, and tokens at the very start and end.
    expect(bloomMayHoldToken(buildTrigramBloom(Buffer.from('abcdefgh'), 4), tokenProbe('abcdefgh')!)).toBe(true);
    expect(bloomMayHoldToken(buildTrigramBloom(Buffer.from('x abcdefghi'), 4), tokenProbe('abcdefghi')!)).toBe(true);
  });
});

/** The format written out plainly: sets and loops, no reused tables, no single pass. */
function referenceBloom(text: Uint8Array, format: 2 | 3 | 4 | 5): Buffer {
  const lower = (b: number): number => (b >= 65 && b <= 90 ? b | 32 : b);
  const trigrams = new Set<number>();
  for (let i = 2; i < text.length; i++) {
    const exact = (text[i - 2]! << 16) | (text[i - 1]! << 8) | text[i]!;
    trigrams.add((lower(text[i - 2]!) << 16) | (lower(text[i - 1]!) << 8) | lower(text[i]!));
    trigrams.add(exact);
  }
  const tokenHashes: number[] = [];
  if (format >= 3) {
    const ascii = Buffer.from(text).toString('latin1');
    for (const token of ascii.match(/[A-Za-z0-9_.:@-]+/g) ?? []) {
      if (token.length < TOKEN_MIN) continue;
      // Format 5 leaves out a token that begins with a date or a time of day (tokenProbe has no probe for one).
      if (format === 5 && /^(\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d)/.test(token)) continue;
      const bytes = Buffer.from(token, 'latin1');
      let hash = 0x811c9dc5;
      for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
      tokenHashes.push((hash ^ 0x5bd1e995) | 0);
    }
  }
  const mix = (x: number): number => {
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    return x ^ (x >>> 16);
  };
  if (format === 5) {
    const round16 = (bits: number): number => Math.ceil(bits / 8 / 16) * 16;
    const distinct = new Set(tokenHashes);
    const trigramBytes = Math.max(16, round16(trigrams.size * 10));
    const tokenBytes = round16(distinct.size * 16);
    const bloom = Buffer.alloc(trigramBytes + tokenBytes + 5);
    bloom.writeUInt32LE(trigramBytes, trigramBytes + tokenBytes);
    bloom[bloom.length - 1] = 5;
    const set = (value: number, probes: number, base: number, size: number): void => {
      const h1 = mix(value);
      const h2 = mix(value ^ 0x9e3779b9) | 1;
      for (let p = 0; p < probes; p++) {
        const bit = base + ((((h1 + Math.imul(p, h2)) >>> 0) % 2 ** 31) % size);
        bloom[Math.floor(bit / 8)]! |= 1 << bit % 8;
      }
    };
    for (const hash of distinct) set(hash, 8, trigramBytes * 8, tokenBytes * 8);
    for (const trigram of trigrams) set(trigram, 3, 0, trigramBytes * 8);
    return bloom;
  }
  let bytes = 8;
  while (bytes * 8 < (trigrams.size + tokenHashes.length) * 8) bytes *= 2;
  const bloom = Buffer.alloc(bytes + 1);
  bloom[bytes] = format;
  const set = (value: number, probes: number): void => {
    const h1 = mix(value);
    const h2 = mix(value ^ 0x9e3779b9) | 1;
    for (let p = 0; p < probes; p++) {
      const bit = (h1 + Math.imul(p, h2)) & (bytes * 8 - 1);
      bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
  };
  for (const hash of new Set(tokenHashes)) set(hash, format >= 4 ? 8 : 3);
  for (const trigram of trigrams) set(trigram, 3);
  return bloom;
}

describe('the builder against the format written plainly', () => {
  const piece = fc.oneof(
    fc.constantFrom('a', 'Z', 'q', 'E', '0', '9', '_', '.', ':', '@', '-', ' ', '=', '"', '{', '\n', '\t', '/', 'é', 'Ä', '😀', '\u0000', '\u00ff'),
    fc.stringMatching(/^[A-Za-z0-9_.:@-]{6,40}$/), // tokens around and past TOKEN_MIN
    fc.constantFrom('ERROR', 'error', 'Error', 'trace_id', '4bf92f3577b34da6', 'GET /api/v1/items?id=1', '2026-01-05T00:00:01.5Z', '12:03:07', '2026-01-05', '12:03:0x'),
  );
  const texts = fc.oneof(
    fc.array(piece, { maxLength: 300 }).map((parts) => Buffer.from(parts.join(''))),
    fc.uint8Array({ maxLength: 3 }).map((bytes) => Buffer.from(bytes)), // under a trigram
    fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)), // any bytes
    fc.stringMatching(/^[A-Za-z0-9]{1,20}$/).map((token) => Buffer.from(token.repeat(30))), // one long token
  );

  it('builds the same bytes for every text, with and without tokens and names', () => {
    fc.assert(
      fc.property(texts, (text) => {
        for (const format of [2, 3, 4, 5] as const) {
          const reference = referenceBloom(text, format);
          expect(buildTrigramBloom(text, format).equals(reference)).toBe(true);
          expect(buildTrigramBloomJs(text, format).equals(reference)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  // npm install builds native/bloom.c (scripts/build-native.mjs); CI must have it, or the C builder goes untested.
  it.runIf(process.env.CI === 'true' || nativeBloomLoaded())('the C builder is loaded, and builds a segment-sized text as the JavaScript one does', () => {
    expect(nativeBloomLoaded()).toBe(true);
    // Segment-sized texts: past the first sizes of the builders' tables, many distinct trigrams and tokens, any bytes.
    let seed = 7;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const words = ['ERROR', 'warn', 'GET', '/api/v1/items', 'trace_id=', 'Ä', '😀', '{"level":"info"}', ' ', '\n', '\t', '=', '2026-01-05T00:00:01.5Z', '12:03:07', '2026-01-05', '1:03:07:999', '2026-1-05x'];
    for (const size of [1 << 16, 1 << 18, 1 << 20]) {
      const parts: string[] = [];
      let length = 0;
      while (length < size) {
        const r = random();
        const part = r % 3 === 0 ? words[r % words.length]! : r % 3 === 1 ? (r >>> 4).toString(36) + (random() >>> 3).toString(16) : String.fromCharCode(32 + (r % 95));
        parts.push(part);
        length += part.length;
      }
      const textBytes = Buffer.from(parts.join(''));
      const anyBytes = Buffer.from(Array.from({ length: size }, () => random() & 0xff));
      for (const text of [textBytes, anyBytes]) {
        for (const format of [2, 3, 4, 5] as const) {
          expect(buildTrigramBloom(text, format).equals(buildTrigramBloomJs(text, format))).toBe(true);
        }
      }
    }
  });

  it('builds the same bytes for a segment of varied lines, after builds of other sizes', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => `${i % 5 === 0 ? 'WARN' : 'info'} Host-${i % 37} user=ü${i} id=${((i * 2654435761) >>> 0).toString(16)}${'x'.repeat(i % 23)}`);
    for (const count of [4000, 10, 1, 2500]) {
      const text = Buffer.from(lines.slice(0, count).join('\n'));
      for (const format of [4, 5] as const) expect(buildTrigramBloom(text, format).equals(referenceBloom(text, format))).toBe(true);
    }
  });
});
