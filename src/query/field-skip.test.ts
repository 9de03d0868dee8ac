import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTrigramBloom, foldBloom } from '../segment/bloom.js';
import { decodeSegment, encodeSegment, type SegmentLine } from '../segment/codec.js';
import type { SegmentBackend, SegmentMeta } from './backend.js';
import { queryFilterParts } from './query-filter.js';
import { compileMatchers } from './matcher.js';
import { bloomProbes, quickMayMatch, scanSegment } from './segment-scan.js';

/** A segment's lines and the verdict its (full or folded) bloom gives a query, beside the lines that truly match. */
function judge(lines: { line: string; fields?: Record<string, string> }[], q: string, bloomOf?: (encoded: Buffer) => Uint8Array) {
  const segmentLines: SegmentLine[] = [];
  let offset = 0;
  lines.forEach(({ line, fields }, i) => {
    const end = offset + Buffer.byteLength(line) + 1;
    segmentLines.push({ offset, end, timestamp: BigInt(i), line, cut: false, seq: i + 1, ...(fields ? { fields } : {}) });
    offset = end;
  });
  const encoded = encodeSegment(segmentLines);
  const meta = { id: '1', host: 'h', fileId: 'f', filename: 'a.log', path: '/a.log', minArrival: 0n, maxArrival: 0n, ...encoded } as SegmentMeta;
  const matcher = queryFilterParts(q, false).matcher;
  const match = compileMatchers(matcher ? [matcher] : []);
  const verdicts = [encoded.bloom, foldBloom(encoded.bloom, 2), foldBloom(encoded.bloom, 4), ...(bloomOf ? [bloomOf(encoded.data)] : [])].map((bloom) => {
    const backend = { bloomSummary: () => bloom } as unknown as SegmentBackend;
    return quickMayMatch(backend, meta, bloomProbes(match));
  });
  const matched: number[] = [];
  scanSegment(meta, decodeSegment(encoded.data), { match }, (i) => matched.push(i));
  return { verdicts, matched };
}

const name = fc.constantFrom('status', 'service', 'http.path', 'http', 'path', 'trace_id', 'took_ms', 'level', 'app', 'a.b.c', 'ab');
const value = fc.constantFrom('500', '200', 'api', 'web', '/healthz', 'x y', 'error', '"q"', '0', '1e3');
/** A key as written: plain, or with a character spelled as a JSON escape. */
const spelled = (key: string, escape: boolean): string => (escape && key.length > 1 ? `${key[0]}\\u00${key.charCodeAt(1).toString(16).padStart(2, '0')}${key.slice(2)}` : key);
const lineArb = fc.oneof(
  fc.tuple(name, value, fc.boolean()).map(([n, v, escape]) => ({ line: `{"${spelled(n.split('.').pop()!, escape)}":${JSON.stringify(v)},"msg":"m"}` })),
  fc.tuple(name, value).map(([n, v]) => ({ line: `{"${n.split('.')[0]}":{"${n.split('.').slice(1).join('.') || 'x'}":${JSON.stringify(v)}}}` })),
  fc.tuple(name, value).map(([n, v]) => ({ line: `time=now ${n}=${v.includes(' ') ? JSON.stringify(v) : v} msg=hi` })),
  fc.constantFrom({ line: 'plain ERROR text' }, { line: '2026-01-05 INFO started' }, { line: 'status' }, { line: '' }),
  fc.tuple(name, value, fc.constantFrom('plain line', '{"k":1}', 'a=b')).map(([n, v, line]) => ({ line, fields: { [n]: v } })),
);
const queryArb = fc.tuple(name, fc.constantFrom(':*', ':500', ':>=500', ':<100', ':api', ':/h.*z/', ':web*'), fc.constantFrom('', ' -healthz', ' level:error', ' OR x')).map(([n, op, rest]) => `${n}${op}${rest}`);

describe('skipping a segment by the field names of its bloom', () => {
  it('never skips a segment that holds a matching line (full and folded blooms)', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 12 }), queryArb, (lines, q) => {
        const { verdicts, matched } = judge(lines, q);
        if (matched.length > 0) for (const verdict of verdicts) expect(verdict).not.toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  it('skips a segment of plain lines for a field term, without decoding it', () => {
    const plain = [{ line: '2026-01-05 12:00:00 ERROR disk full' }, { line: 'INFO request served in 12ms' }];
    expect(judge(plain, 'status:>=500').verdicts).toEqual([false, false, false]);
    expect(judge(plain, 'service:api -healthz').verdicts).toEqual([false, false, false]);
    expect(judge(plain, 'http.path:*').verdicts).toEqual([false, false, false]);
    // `level` is derived from the text's words, never ruled out by name.
    expect(judge(plain, 'level:error').verdicts).not.toContain(false);
  });

  it('keeps a segment whose line spells the name with an escape, or whose source gave it', () => {
    const escaped = judge([{ line: '{"st\\u0061tus":503}' }], 'status:>=500');
    expect(escaped.matched).toEqual([0]);
    expect(escaped.verdicts).not.toContain(false);
    const given = judge([{ line: 'no fields in this text', fields: { status: '503' } }], 'status:>=500');
    expect(given.matched).toEqual([0]);
    expect(given.verdicts).not.toContain(false);
  });

  it('never skips by name with a bloom of an older format (it does not hold given field names)', () => {
    const olderBloom = (): Uint8Array => buildTrigramBloom(Buffer.from('no fields in this text\n503\n'), 3);
    const { verdicts, matched } = judge([{ line: 'no fields in this text', fields: { status: '503' } }], 'status:>=500', olderBloom);
    expect(matched).toEqual([0]);
    expect(verdicts[3]).not.toBe(false);
  });

  it('answers a whole-token probe from a format 5 summary, and asks the full bloom of an older one', () => {
    const lines = [{ line: '{"trace_id":"4bf92f3577b34da6","msg":"ok"}' }];
    // Each bloom here is given as the summary: the full one, folded by 2 and by 4.
    expect(judge(lines, 'trace_id:4bf92f3577b34da6').verdicts).toEqual([true, true, true]);
    expect(judge(lines, 'trace_id:00ff00ff00ff00ff').verdicts).toEqual([false, false, false]);
    const format4 = (): Uint8Array => foldBloom(buildTrigramBloom(Buffer.from(lines[0]!.line + '\n'), 4), 2);
    expect(judge(lines, 'trace_id:4bf92f3577b34da6', format4).verdicts[3]).toBeUndefined();
  });
});
