/**
 * The rule index: with 10,000 rules a line runs only the few queries it can match, and the
 * index never changes what matches (every rule's query run on every line agrees).
 */
import { describe, expect, test } from 'vitest';
import { benchRule } from '../../bench/workloads/alerts.js';
import type { StoredLine } from '../query/types.js';
import { compileRule, RuleIndex, type CompiledRule } from './rule-index.js';
import { ruleFromBody } from './rule.js';

function line(text: string, host = 'web-1', fields?: Record<string, string>): StoredLine {
  return { line: text, host, filename: 'app.log', fileId: 'f', path: '/var/log/app.log', offset: 0, end: 1, timestamp: 0n, cut: false, seq: 1, ...(fields === undefined ? {} : { fields }) };
}

function lines(): StoredLine[] {
  const out: StoredLine[] = [];
  for (let n = 0; n < 200; n++) {
    const level = n % 7 === 0 ? 'error' : 'info';
    let text = `2026-12-02T06:00:00Z api[${n}]: level=${level} service=svc-${n % 50} GET /api/items/${n} status=${n % 9 === 0 ? 503 : 200}`;
    if (n % 11 === 0) text += ` needle${(n * 37) % 10_000} timeout`;
    if (n % 13 === 0) text += ` Connection reset by peer`;
    if (n % 17 === 0) text += ` payment failed order-${(n * 7) % 10_000}`;
    if (n % 19 === 0) text += ' żółw ünïcode NEEDLE42 TIMEOUT';
    out.push(line(text, `web-${n % 5}`, n % 23 === 0 ? { service: `svc-${n % 50}`, level: 'error' } : undefined));
    // A source that gave its fields beside a text that does not hold them (a rule filed under a field's value must still see it).
    if (n % 29 === 0) out.push(line(`message ${n} without the fields`, `web-${n % 5}`, { service: `svc-${n % 50}`, level: 'error', region: 'eu-west' }));
  }
  return out;
}

/** Literals of more trigrams than the index searches for one by one. */
const WORDS = ['level', 'service', 'items', 'status=503', 'api[', 'reset', 'peer', 'payment', 'ünïcode', 'timeout', 'get /api', 'error', 'info', 'connection', 'order-', 'failed', 'needle42', '"by peer"', '/f[a]iled/', 'zzzq'];

describe('RuleIndex', () => {
  test.each([
    ['few trigrams (searched for each)', [] as string[]],
    ['many trigrams (one rolling scan)', WORDS],
  ])('10,000 rules, %s: a line runs a bounded number of queries, and matches exactly what every query run alone matches', { timeout: 180_000 }, (_, words) => {
    const index = new RuleIndex();
    const all: CompiledRule[] = [];
    for (let i = 0; i < 10_000; i++) {
      const compiled = compileRule(ruleFromBody(benchRule(i, 'http://127.0.0.1:9/'), 0));
      index.add(compiled);
      all.push(compiled);
    }
    // A few rules with no literal and no field equality: they run on every line.
    for (const q of ['-debug', 'took_ms:>500 OR status:>=500', '', 'service:svc-4*', 'region:eu-west', 'service:svc-23 level:error', 'żółw', ...words]) {
      const compiled = compileRule(ruleFromBody({ name: q || 'all', q, condition: { kind: 'count', window: '1m' }, notify: [{ webhook: 'http://a/' }] }, 0));
      index.add(compiled);
      all.push(compiled);
    }
    let tested = 0;
    let matched = 0;
    const sample = lines();
    for (const stored of sample) {
      const hits = new Set<string>();
      index.match(stored, (compiled) => hits.add(compiled.rule.id));
      tested += index.tested;
      const expected = new Set(
        all
          .filter((c) => !c.never && (!c.hosts || c.hosts.has(stored.host)) && c.test(stored.line, { lowered: undefined, fields: undefined, stored: stored.fields }))
          .map((c) => c.rule.id),
      );
      expect(hits).toEqual(expected);
      matched += hits.size;
    }
    expect(matched).toBeGreaterThan(sample.length * 3);
    // 10,003 rules, yet on average a line runs a few dozen queries (the three unindexed ones, its
    // field bucket, the literals it holds).
    expect(tested / sample.length).toBeLessThan(60 + words.length);
  });

  test('a few trigrams, searched in the text itself: overlapping needles, case, characters past ASCII, regex characters', () => {
    const index = new RuleIndex();
    const qs = ['abcd', 'bcde', 'key', 'ünïcode', '"a.b(c"', 'needle', '"needle timeout"', '/fail(ed|ure) [a-z]+-/', 'service:svc-1', 'straße', 'ü-x1', 'xyü9'];
    const all = qs.map((q) => compileRule(ruleFromBody({ name: q, q, condition: { kind: 'count', window: '1m' }, notify: [{ webhook: 'http://a/' }] }, 0)));
    for (const compiled of all) index.add(compiled);
    const texts = [
      'xABCDEy',
      'the \u212Aey unlocks',
      'ÜNÏCODE here, and needle',
      'ünïcode lower',
      'A.B(C yes and abcd',
      'aXb(c no',
      'NEEDLE TIMEOUT after needles',
      'job failed order-7 service=svc-1',
      'job FAILURE Order- service=svc-12 and a KEY',
      'İstanbul key abcde',
      'STRASSE and Straße',
      // Trigrams that mix ASCII and Latin-1 letters, matched case-insensitively.
      'a Ü-X1 only',
      'an XYÜ9 only',
      'ab',
      '',
    ];
    for (const text of texts) {
      const stored = line(text);
      const hits = new Set<string>();
      index.match(stored, (compiled) => hits.add(compiled.rule.q));
      const expected = new Set(all.filter((c) => c.test(text, { lowered: undefined, fields: undefined, stored: undefined })).map((c) => c.rule.q));
      expect([text, [...hits].sort()]).toEqual([text, [...expected].sort()]);
    }
    // Each kind of line found something: the cases are not vacuous.
    expect(texts.filter((text) => all.some((c) => c.test(text, { lowered: undefined, fields: undefined, stored: undefined }))).length).toBeGreaterThanOrEqual(10);
  });

  test('removing a rule takes it out of its bucket', () => {
    const index = new RuleIndex();
    const compiled = compileRule(ruleFromBody({ name: 'x', q: 'oom-killer', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: 'http://a/' }] }, 0));
    index.add(compiled);
    const hits: string[] = [];
    index.match(line('the OOM-killer struck'), (c) => hits.push(c.rule.id));
    expect(hits).toEqual([compiled.rule.id]);
    index.remove(compiled.rule.id);
    index.match(line('the OOM-killer struck'), (c) => hits.push(c.rule.id));
    expect(hits).toHaveLength(1);
    expect(index.size).toBe(0);
  });

  test('rules sharing a trigram: removing one keeps the others found, whatever their lengths', () => {
    const index = new RuleIndex();
    const rule = (q: string): CompiledRule => compileRule(ruleFromBody({ name: q, q, condition: { kind: 'count', window: '1m' }, notify: [{ webhook: 'http://a/' }] }, 0));
    const rules = Array.from({ length: 12 }, (_, i) => rule(`svc-${'x'.repeat(i)}`));
    for (const compiled of rules) index.add(compiled);
    const found = (text: string): string[] => {
      const hits: string[] = [];
      index.match(line(text), (c) => hits.push(c.rule.q));
      return hits.sort();
    };
    expect(found('at SVC-xx now')).toEqual(['svc-', 'svc-x', 'svc-xx']);
    index.remove(rules[1]!.rule.id);
    expect(found('at SVC-xx now')).toEqual(['svc-', 'svc-xx']);
    for (const compiled of rules.slice(2)) index.remove(compiled.rule.id);
    expect(found('at SVC-xx now')).toEqual(['svc-']);
  });
});
