import fc from 'fast-check';
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, linesText, parsePayload, payloadText, payloadTextAndTimes, prepareText, segmentLines, segmentText, writeLinesText, type SegmentLine } from './codec.js';
import { BodyLine } from '../protocol/body-line.js';
import { BLOOM_FORMAT, buildTrigramBloom } from './bloom.js';
import { decompressPayload } from './compression.js';

const T0 = 1_700_000_000_000_000_000n;

/** A line's text: ASCII and not, a tab, a character outside the BMP. */
const lineText = fc.string({ unit: fc.constantFrom(...'ab Z9-é😀\t'), maxLength: 40 });
/** The texts of a segment's lines. */
const segmentTexts = fc.array(lineText, { minLength: 1, maxLength: 60 });

function linesOf(texts: string[]): SegmentLine[] {
  let offset = 100;
  return texts.map((line, i) => {
    const end = offset + Buffer.byteLength(line) + 1;
    const stored = { offset, end, timestamp: T0 + BigInt(i) * 1_000_000n - (i % 3 === 0 ? 5n : 0n), line, cut: i % 7 === 3, seq: 40 + i * 2 };
    offset = end + (i % 5 === 0 ? 9 : 0);
    return stored;
  });
}

function varintEnd(buffer: Buffer, position: number): number {
  while (buffer[position]! >= 0x80) position++;
  return position + 1;
}

/** The blob an earlier version wrote for the same lines: payload version 1 (no column byte count), brotli. */
function legacyBlob(data: Buffer): Buffer {
  const payload = decompressPayload(data);
  expect(payload[0]).toBe(2);
  const afterCount = varintEnd(payload, 1);
  const afterColumnBytes = varintEnd(payload, afterCount);
  const v1 = Buffer.concat([Buffer.from([1]), payload.subarray(1, afterCount), payload.subarray(afterColumnBytes)]);
  return brotliCompressSync(v1, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
}

describe('segment codec', () => {
  it('round-trips lines, and finds the text without parsing the columns', () => {
    fc.assert(
      fc.property(segmentTexts, (texts) => {
        const lines = linesOf(texts);
        const encoded = encodeSegment(lines);
        expect([...encoded.data.subarray(0, 2)]).toEqual([0xff, 2]); // the container, Zstandard
        expect(segmentLines(decodeSegment(encoded.data))).toEqual(lines);
        const payload = decompressPayload(encoded.data);
        const { count, text } = payloadText(payload);
        expect(count).toBe(lines.length);
        expect(text.toString('utf8')).toBe(texts.map((t) => t + '\n').join(''));
        expect(encoded.ascii).toBe(texts.every((t) => /^[\x00-\x7f]*$/.test(t)));
      }),
      { numRuns: 100 },
    );
  });

  it('reads the text and the timestamps alone as the full parse reads them, in every payload version', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ line: lineText, step: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), fields: fc.boolean() }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom(1, 2, 3),
        (specs, version) => {
          let timestamp = -(2n ** 63n) + 2n ** 62n;
          const lines = linesOf(specs.map((spec) => spec.line)).map((line, i) => {
            const step = specs[i]!.step;
            if (timestamp + step >= -(2n ** 63n) && timestamp + step < 2n ** 63n) timestamp += step;
            return { ...line, timestamp, ...(version === 3 && specs[i]!.fields ? { fields: { k: `v${i}` } } : {}) };
          });
          let data = encodeSegment(lines).data;
          if (version === 1) data = legacyBlob(data);
          const payload = decompressPayload(data);
          const full = parsePayload(payload);
          const read = payloadTextAndTimes(payload);
          expect(read.count).toBe(full.count);
          expect(read.text.equals(full.text)).toBe(true);
          expect([...read.timestamps]).toEqual([...full.timestamps]);
          expect(lines.map((_, i) => read.fieldsAt?.(i))).toEqual(lines.map((_, i) => full.fieldsAt?.(i)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('writes lines\' text in pieces that give the bytes of the whole joined text, whatever the characters', () => {
    const unit = fc.oneof(fc.constantFrom(...'ab Z9-\t'), fc.constantFrom('é', '😀', '\ud800', '\udfff', '\u0000'));
    const lineArb = fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit: fc.constantFrom(...'abc '), minLength: 10_000, maxLength: 40_000 }));
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 40 }), fc.nat(5), (texts, before) => {
        const lines = texts.map((line) => ({ line }));
        const whole = Buffer.from(texts.map((t) => `${t}\n`).join(''));
        const text = linesText(lines);
        expect(text.bytes).toBe(whole.length);
        expect(text.ascii).toBe(texts.every((t) => /^[\x00-\x7f]*$/.test(t)));
        expect(segmentText(lines).equals(whole)).toBe(true);
        // Written after other bytes, into a buffer with room to spare.
        const buffer = Buffer.alloc(before + text.bytes + 3, 0xaa);
        expect(writeLinesText(text, buffer, before)).toBe(before + text.bytes);
        expect(buffer.subarray(before, before + text.bytes).equals(whole)).toBe(true);
        expect([...buffer.subarray(0, before), ...buffer.subarray(before + text.bytes)].every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('encodes the same segment from a text prepared ahead (its bloom and compressed frame), and ignores one that is not these lines', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom(...'ab Z9-é😀\t'), maxLength: 300 }), { minLength: 1, maxLength: 200 }), (texts) => {
        const lines = linesOf(texts);
        const text = segmentText(lines);
        const ascii = texts.every((t) => /^[\x00-\x7f]*$/.test(t));
        const inline = encodeSegment(lines);
        const ahead = encodeSegment(lines, prepareText(text, lines.length, ascii));
        // Two Zstandard frames (the columns', then the text's own), the same payload.
        expect(decompressPayload(ahead.data).equals(decompressPayload(inline.data))).toBe(true);
        expect(segmentLines(decodeSegment(ahead.data))).toEqual(lines);
        expect(ahead.bloom.equals(inline.bloom)).toBe(true);
        const { data: _a, bloom: _b, ...stats } = ahead;
        const { data: _c, bloom: _d, ...inlineStats } = inline;
        expect(stats).toEqual(inlineStats);
        // The text of other lines (one fewer, or a line changed) is not used.
        if (lines.length > 1) {
          const fewer = encodeSegment(lines.slice(1), prepareText(text, lines.length, ascii));
          expect(segmentLines(decodeSegment(fewer.data))).toEqual(lines.slice(1));
        }
        const changed = lines.map((l, i) => (i === 0 ? { ...l, line: l.line + 'x' } : l));
        expect(segmentLines(decodeSegment(encodeSegment(changed, prepareText(text, lines.length, ascii)).data))).toEqual(changed);
      }),
      { numRuns: 100 },
    );
  });

  it('still reads the brotli blobs of payload version 1', () => {
    const lines = linesOf(['first line', 'second, with ünïcode', '', 'fourth']);
    const legacy = legacyBlob(encodeSegment(lines).data);
    expect(legacy[0]! & 0x0f).toBe(0x0b); // a brotli stream with a 22-bit window: never the 0xFF container mark
    expect(segmentLines(decodeSegment(legacy))).toEqual(lines);
    const payload = decompressPayload(legacy);
    expect(segmentLines(parsePayload(payload))).toEqual(lines);
    expect(payloadText(payload).text.toString()).toBe('first line\nsecond, with ünïcode\n\nfourth\n');
  });

  it('still reads the raw deflate blobs written before Zstandard', () => {
    const lines = linesOf(['first line', 'second, with ünïcode', '', 'fourth']);
    const payload = decompressPayload(encodeSegment(lines).data);
    const header = [0xff, 1, payload.length]; // payload under 128 bytes: a one-byte varint
    expect(payload.length).toBeLessThan(128);
    const deflated = Buffer.concat([Buffer.from(header), deflateRawSync(payload, { level: 1 })]);
    expect(segmentLines(decodeSegment(deflated))).toEqual(lines);
    expect(decompressPayload(deflated).equals(payload)).toBe(true);
  });

  it('refuses a Zstandard body that is corrupt, cut short, or not the length its header says', () => {
    const data = encodeSegment(linesOf(['a line of some length, repeated', 'a line of some length, repeated', 'another'])).data;
    expect(decompressPayload(data).length).toBeGreaterThan(0);
    expect(() => decompressPayload(data.subarray(0, data.length - 4))).toThrow();
    const flipped = Buffer.from(data);
    flipped[4] = flipped[4]! ^ 0xff; // inside the frame header's magic number
    expect(() => decompressPayload(flipped)).toThrow();
    const longer = Buffer.from(data);
    longer[2] = longer[2]! + 1; // the header claims one byte more than the frames hold
    expect(() => decompressPayload(longer)).toThrow(/header says/);
  });

  it('rejects a blob of an unknown codec or a truncated header', () => {
    expect(() => decompressPayload(Buffer.from([0xff, 9, 3, 0, 0]))).toThrow(/codec/);
    expect(() => decompressPayload(Buffer.from([0xff, 1, 0x80]))).toThrow(/truncated/);
  });

  it('round-trips any timestamps: steps up and down, jumps past 2^51, long drifts, the ends of the i64 range', () => {
    const step = fc.oneof(
      fc.bigInt({ min: -(2n ** 20n), max: 2n ** 20n }),
      fc.bigInt({ min: 2n ** 50n - 5n, max: 2n ** 51n + 5n }).map((d) => (d % 2n === 0n ? d : -d)),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.array(step, { minLength: 1, maxLength: 80 }), (first, steps) => {
        const lines = linesOf(steps.map((_, i) => `line ${i}`));
        let ts = first;
        lines.forEach((line, i) => {
          line.timestamp = ts;
          ts = BigInt.asIntN(64, ts + steps[i]!);
        });
        expect(decodeSegment(encodeSegment(lines).data).timestamps).toEqual(BigInt64Array.from(lines.map((l) => l.timestamp)));
      }),
      { numRuns: 300 },
    );
    // Many big deltas one way: the running sum passes 2^53 unless folded into the base.
    const drifting = linesOf(Array.from({ length: 50 }, (_, i) => `drift ${i}`));
    drifting.forEach((line, i) => (line.timestamp = -(2n ** 62n) + BigInt(i) * (2n ** 51n - 1n)));
    expect(decodeSegment(encodeSegment(drifting).data).timestamps).toEqual(BigInt64Array.from(drifting.map((l) => l.timestamp)));
  });
});

/**
 * `lines` as a binary batch's body lines: each text where a request body holds it, end to end
 * with the one before except every fourth (a line left out between them), the second half in
 * another body.
 */
function asBodyLines(lines: readonly SegmentLine[]): BodyLine[] {
  const half = Math.floor(lines.length / 2);
  const inBody = (part: readonly SegmentLine[]): BodyLine[] => {
    const pieces: Buffer[] = [Buffer.from('head')];
    const starts: number[] = [];
    let at = 4;
    part.forEach((line, i) => {
      if (i % 4 === 3) {
        pieces.push(Buffer.from('left out'));
        at += 8;
      }
      starts.push(at);
      const text = Buffer.from(line.line);
      pieces.push(text);
      at += text.length;
    });
    const body = Buffer.concat([...pieces, Buffer.from('tail')]);
    return part.map((line, i) =>
      new BodyLine(body, starts[i]!, Buffer.byteLength(line.line), /^[\x00-\x7f]*$/.test(line.line), line.offset, line.end, line.timestamp, line.cut).withSeq(line.seq),
    );
  };
  return [...inBody(lines.slice(0, half)), ...inBody(lines.slice(half))];
}

describe('lines whose text is still in the request body', () => {
  it('encode to the same blob and bloom as their strings, and prepare the same text', () => {
    fc.assert(
      fc.property(segmentTexts, (texts) => {
        const lines = linesOf(texts);
        const inBody = asBodyLines(lines);
        expect(encodeSegment(inBody)).toEqual(encodeSegment(lines));
        const joined = linesText(inBody);
        expect(joined.pieces).toEqual([]);
        const text = Buffer.alloc(joined.bytes + 2, 0x21);
        expect(writeLinesText(joined, text, 1)).toBe(joined.bytes + 1);
        expect(text).toEqual(Buffer.concat([Buffer.from('!'), segmentText(lines), Buffer.from('!')]));
        expect(joined.ascii).toBe(linesText(lines).ascii);
        const prepared = prepareText(segmentText(lines), lines.length, joined.ascii);
        expect(encodeSegment(inBody, prepared)).toEqual(encodeSegment(lines, prepared));
        // Read as strings (a tail, an alert), they are the texts; mixed with strings, the text is joined from both.
        expect(inBody.map((line) => line.line)).toEqual(texts);
        expect(encodeSegment([...lines.slice(0, 1), ...inBody.slice(1)])).toEqual(encodeSegment(lines));
      }),
      { numRuns: 100 },
    );
  });
});

describe('fields the source gave', () => {
  const lines = [0, 1, 2, 3].map((i) => ({
    offset: i * 10,
    end: i * 10 + 10,
    timestamp: 5n + BigInt(i),
    line: `line ${i} é`,
    cut: false,
    seq: i + 1,
    ...(i % 2 === 0 ? { fields: { service: 'api', 'sd.x.y': `v${i}`, '': 'empty name', 'ü': '😀' } } : {}),
  }));

  it('round-trip per line, absent where a line had none (version 3)', () => {
    const encoded = encodeSegment(lines);
    const payload = decompressPayload(encoded.data);
    expect(payload[0]).toBe(3);
    expect(segmentLines(decodeSegment(encoded.data))).toEqual(lines);
    const { text, fieldsAt } = payloadText(payload);
    expect(text.toString()).toBe(lines.map((l) => l.line + '\n').join(''));
    expect([0, 1, 2, 3].map((i) => fieldsAt?.(i))).toEqual(lines.map((l) => l.fields));
  });

  it("lines repeating the previous fields (a stream's labels) are written as if each were new, and read back as maps of their own", () => {
    const labels = { host: 'web-1', job: 'app', env: 'prod' };
    const fieldsOf = [labels, { ...labels }, { job: 'app', host: 'web-1', env: 'prod' }, undefined, labels, { ...labels, env: 'dev' }, { ...labels, env: 'dev' }, { host: 'web-1' }];
    const repeated = fieldsOf.map((fields, i) => ({ offset: i * 10, end: i * 10 + 10, timestamp: 5n + BigInt(i), line: `line ${i}`, cut: false, seq: i + 1, ...(fields ? { fields } : {}) }));
    // Each line's fields in an object of its own, no two alike by reference: the bytes must be the same.
    const copied = repeated.map((line) => (line.fields ? { ...line, fields: { ...line.fields } } : line));
    const encoded = encodeSegment(repeated);
    expect(decompressPayload(encoded.data)).toEqual(decompressPayload(encodeSegment(copied).data));
    const decoded = segmentLines(decodeSegment(encoded.data));
    expect(decoded).toEqual(copied);
    expect(decoded.map((line) => line.fields && Object.keys(line.fields))).toEqual(fieldsOf.map((fields) => fields && Object.keys(fields)));
    // A map handed out is the caller's: changing it changes no other line's.
    const { fieldsAt } = payloadText(decompressPayload(encoded.data));
    fieldsAt!(0)!.host = 'changed';
    expect([fieldsAt!(0), fieldsAt!(1), fieldsAt!(4)]).toEqual([labels, labels, labels]);
  });

  it('any names and values (short or long, ASCII or not) round-trip, and every distinct name and value is in the bloom once', () => {
    const text = fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: 'grapheme', maxLength: 140 }), fc.constantFrom('', 'a', 'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(64)));
    fc.assert(
      fc.property(fc.array(fc.option(fc.dictionary(text, text, { minKeys: 1, maxKeys: 5 }), { nil: undefined }), { minLength: 1, maxLength: 12 }), (fieldsOf) => {
        const withFields = fieldsOf.map((fields, i) => ({ offset: i, end: i + 1, timestamp: 5n, line: `l${i}`, cut: false, seq: i + 1, ...(fields ? { fields } : {}) }));
        const encoded = encodeSegment(withFields);
        expect(segmentLines(decodeSegment(encoded.data))).toEqual(withFields);
        if (fieldsOf.every((fields) => fields === undefined)) return;
        const namesAndValues = [...new Set(fieldsOf.flatMap((fields) => Object.entries(fields ?? {}).flat()))];
        const expected = buildTrigramBloom(Buffer.from(withFields.map((line) => line.line + '\n').join('') + namesAndValues.map((text) => text + '\n').join('')), BLOOM_FORMAT);
        expect(encoded.bloom.equals(expected)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a segment without fields is written as version 2, as before', () => {
    const plain = lines.map(({ fields: _fields, ...rest }) => rest);
    const payload = decompressPayload(encodeSegment(plain).data);
    expect(payload[0]).toBe(2);
    expect(payloadText(payload).fieldsAt).toBeUndefined();
  });
});
