import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { binaryBody } from '../../test/protocol/binary-body.js';
import { BinaryBatchError, binaryBatchToRequest, BinaryBatchWriter, checkBinaryBatch, isBinaryBatch } from './binary-batch.js';
import { BodyLine } from './body-line.js';
import type { IngestRequest } from './ingest.js';

const sample: IngestRequest = {
  host: 'web-1',
  files: [
    {
      file_id: 'id-1',
      filename: 'app.log',
      path: '/var/log/app.log',
      size: 4096,
      lines: [
        { offset: 0, end: 6, timestamp: '1700000000000000000', line: 'hello' },
        { offset: 6, end: 40, timestamp: '1700000000000000000', line: '{"msg":"quote \\" tab\t","n":1}' },
        { offset: 40, end: 52, timestamp: '-9223372036854775808', line: 'caf\u00e9 \u{1f600}' },
        { offset: 52, end: 300, timestamp: '9223372036854775807', line: 'a cut piece', cut: true },
      ],
    },
    { file_id: 'id-2', filename: 'c.log', path: '', labels: JSON.parse('{"container":"web","__proto__":"x"}') as Record<string, string>, lines: [{ offset: 9, end: 12, timestamp: '5', line: '', fields: { stream: 'stderr' } }] },
    { file_id: 'id-3', filename: 'empty.log', path: '/e', lines: [] },
  ],
};

describe('binary batch', () => {
  test('reads back what was written: texts, offsets, ends, timestamps at both ends of 64 bits, cut, labels and fields', () => {
    const body = binaryBody(sample);
    expect(isBinaryBatch(body)).toBe(true);
    const request = binaryBatchToRequest(body);
    expect(request.host).toBe('web-1');
    expect(request.files[0]!.lines).toEqual(sample.files[0]!.lines.map((line) => ({ ...line })));
    expect(request.files[0]!.size).toBe(4096);
    expect(Object.keys(request.files[1]!.labels!)).toEqual(['container', '__proto__']);
    expect(Object.getPrototypeOf(request.files[1]!.labels)).toBe(Object.prototype);
    expect(request.files[1]!.lines[0]).toEqual({ offset: 9, end: 12, timestamp: '5', line: '', fields: { stream: 'stderr' } });
    expect(Object.entries(checkBinaryBatch(binaryBody(sample)).groups[1]!.lines[0]!.fields!)).toEqual([['container', 'web'], ['__proto__', 'x'], ['stream', 'stderr']]);
    expect(request.files[2]).toEqual({ file_id: 'id-3', filename: 'empty.log', path: '/e', lines: [] });
    const checked = checkBinaryBatch(body);
    expect(checked.rejected).toEqual([]);
    expect(checked.groups[0]!.lines.map((line) => line.bytes)).toEqual([5, 29, 10, 11]);
    expect(checked.groups[0]!.lines[2]!.timestamp).toBe(-(2n ** 63n));
    // Valid UTF-8 stays in the body until read: each line knows where, and whether it is ASCII.
    const lines = checked.groups[0]!.lines as BodyLine[];
    expect(lines.every((line) => line instanceof BodyLine && line.body === body)).toBe(true);
    expect(lines.map((line) => line.ascii)).toEqual([true, true, false, true]);
    expect(lines.map((line) => body.toString('utf8', line.start, line.start + line.bytes))).toEqual(sample.files[0]!.lines.map((line) => line.line));
    expect(lines.map((line) => line.line)).toEqual(sample.files[0]!.lines.map((line) => line.line));
    // An all-ASCII body: every line is.
    const plain = checkBinaryBatch(binaryBody({ host: 'h', files: [{ file_id: 'f', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: 'one' }, { offset: 4, timestamp: '1', line: 'two' }] }] }));
    expect(plain.groups[0]!.lines.map((line) => (line as BodyLine).ascii)).toEqual([true, true]);
  });

  test('a JSON body is not taken for one', () => {
    expect(isBinaryBatch(Buffer.from('{"host":"a","files":[]}'))).toBe(false);
  });

  test('names, paths and offsets are checked as in JSON: a bad group or line is refused alone', () => {
    const request: IngestRequest = {
      host: 'h',
      files: [
        { file_id: '..', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: 'x' }] },
        { file_id: 'ok', filename: 'a\u0001b', lines: [{ offset: 0, timestamp: '1', line: 'x' }] },
        { file_id: 'ok', filename: 'a.log', path: 'p'.repeat(5000), lines: [] },
        { file_id: 'neg', filename: 'a.log', lines: [{ offset: -3, timestamp: '1', line: 'x' }] },
        {
          file_id: 'lines',
          filename: 'a.log',
          lines: [
            { offset: 10, timestamp: '1', line: 'first' },
            { offset: 12, timestamp: '1', line: 'overlaps the first' },
            { offset: 20, end: 20, timestamp: '1', line: 'no bytes' },
            { offset: 30, timestamp: '1', line: 'kept' },
          ],
        },
      ],
    };
    const checked = checkBinaryBatch(binaryBody(request));
    expect(checked.groups.map((g) => [g.index, g.lines.map((l) => l.line)])).toEqual([[4, ['first', 'kept']]]);
    expect(checked.rejected.map((r) => [r.file, r.code, r.offset])).toEqual([
      [0, 'INVALID_NAME', undefined],
      [1, 'INVALID_NAME', undefined],
      [2, 'INVALID_NAME', undefined],
      [3, 'INVALID_BODY', undefined],
      [4, 'INVALID_BODY', 12],
      [4, 'INVALID_BODY', 20],
    ]);
    expect(checked.rejected[0]!.message).toBe("files[0].file_id holds a '..' path segment");
    expect(checked.rejected[4]!.message).toBe("Body field files[4].lines[1].offset must not be below the end (16) of the file's previous line in this request");
    expect(checked.rejected[5]!.message).toBe('Body field files[4].lines[2].end must be greater than its offset');
  });

  test('invalid UTF-8 in the text is stored replaced, and its end derived from what is stored', () => {
    const body = binaryBody({ host: 'h', files: [{ file_id: 'f', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: 'abcd' }] }] });
    // The text section starts at byte 8: make 'bc' two bytes that are not UTF-8.
    body[9] = 0xff;
    body[10] = 0xc3;
    const line = checkBinaryBatch(body).groups[0]!.lines[0]!;
    expect(line.line).toBe('a\ufffd\ufffdd');
    expect(line).not.toBeInstanceOf(BodyLine);
    expect(line.bytes).toBe(8);
    expect(line.end).toBe(9);
  });

  test('a broken layout is refused whole with the byte it breaks at; random bytes never crash or hang the reader', () => {
    const body = binaryBody(sample);
    expect(() => checkBinaryBatch(body.subarray(0, body.length - 1))).toThrow(BinaryBatchError);
    expect(() => checkBinaryBatch(Buffer.concat([body, Buffer.from([0])]))).toThrow(/1 bytes follow its end/);
    const wrongVersion = Buffer.from(body);
    wrongVersion[3] = 2;
    expect(() => checkBinaryBatch(wrongVersion)).toThrow(/version 1/);
    const longText = Buffer.from(body);
    longText.writeUInt32LE(body.length, 4);
    expect(() => checkBinaryBatch(longText)).toThrow(/runs past its end/);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      let mutated: Buffer;
      if (i % 3 === 0) {
        mutated = Buffer.concat([body.subarray(0, 8), randomBytes(i % 200)]);
      } else {
        mutated = Buffer.from(body);
        for (let k = 0; k <= i % 4; k++) mutated[8 + ((i * 7919 + k * 104729) % (mutated.length - 8))] = (i * 31 + k) & 0xff;
      }
      try {
        const checked = checkBinaryBatch(mutated);
        for (const group of checked.groups) for (const line of group.lines) expect(typeof line.line).toBe('string');
      } catch (error) {
        expect(error).toBeInstanceOf(BinaryBatchError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  test('fields that grow the column buffer keep the flags of their line', () => {
    const fields = { big: 'v'.repeat(100_000) };
    const request: IngestRequest = { host: 'h', files: [{ file_id: 'f', filename: 'a.log', lines: [{ offset: 0, end: 2, timestamp: '1', line: 'a' }, { offset: 2, end: 9, timestamp: '2', line: 'b', cut: true, fields }] }] };
    const back = binaryBatchToRequest(binaryBody(request));
    expect(back.files[0]!.lines[1]).toEqual({ offset: 2, end: 9, timestamp: '2', line: 'b', cut: true, fields });
  });

  test('lines marked ASCII (copied in joined runs) make the same bytes as lines written one by one', () => {
    // Runs of ASCII lines longer and shorter than a joined run, broken by non-ASCII and empty
    // lines, over groups, from buffers too small to start with: the bodies must be equal.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const texts = Array.from({ length: 6000 }, (_, i) => {
      const kind = random(40);
      if (kind === 0) return `caf\u00e9 ${i} \u{1f600}`;
      if (kind === 1) return '';
      return `${i} ${'abcdefghij'.repeat(random(30))} "q" \t ~`.slice(0, 1 + random(300));
    });
    const write = (markAscii: boolean): { body: Buffer; lengths: number[] } => {
      const writer = new BinaryBatchWriter(Buffer.alloc(32), Buffer.alloc(8), 'h');
      const lengths: number[] = [];
      let offset = 0;
      texts.forEach((text, i) => {
        if (i % 2500 === 0) {
          if (i > 0) writer.endGroup(offset);
          writer.startGroup(`f${i}`, 'a.log', '/a.log');
        }
        const bytes = Buffer.byteLength(text);
        const ascii = markAscii && bytes === text.length;
        writer.line(offset, offset + bytes + 1, BigInt(1_700_000_000_000_000_000 + i), text, false, undefined, ascii);
        offset += bytes + 1;
        lengths.push(writer.length);
      });
      writer.endGroup(offset);
      const body = writer.finish();
      lengths.push(body.length);
      return { body: Buffer.from(body), lengths };
    };
    const joined = write(true);
    const oneByOne = write(false);
    expect(joined.body.equals(oneByOne.body)).toBe(true);
    // `length` (what the batcher cuts batches by) counts the lines not yet copied too.
    expect(joined.lengths).toEqual(oneByOne.lengths);
    expect(binaryBatchToRequest(joined.body).files.flatMap((f) => f.lines.map((l) => l.line))).toEqual(texts);
  });

  test('a batch larger than the buffer it starts in grows, huge lines included', () => {
    const huge = 'x'.repeat(3 * 1024 * 1024);
    const request: IngestRequest = { host: 'h', files: [{ file_id: 'f', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: huge }, { offset: huge.length + 1, timestamp: '2', line: '\u00e9'.repeat(70_000) }] }] };
    const back = binaryBatchToRequest(binaryBody(request, Buffer.alloc(64)));
    expect(back.files[0]!.lines[0]!.line).toBe(huge);
    expect(back.files[0]!.lines[1]!.line).toBe('\u00e9'.repeat(70_000));
    expect(back.files[0]!.lines[1]!.end).toBe(huge.length + 1 + 140_001);
  });
});
