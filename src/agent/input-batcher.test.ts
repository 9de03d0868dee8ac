import { describe, expect, it } from 'vitest';
import { MAX_INGEST_FILES, type IngestRequest } from '../protocol/ingest.js';
import type { Batch } from './batcher.js';
import { InputBatcher } from './input-batcher.js';

const options = { host: 'box', maxLines: 1_000_000, maxBytes: 1 << 30, flushIntervalMs: 60_000 };

describe('InputBatcher', () => {
  it('keeps each identity in one group, its lines in order, across interleaved identities', () => {
    const batches: Batch[] = [];
    const batcher = new InputBatcher(options, (batch) => batches.push(batch));
    const unit = (n: number) => ({ id: `journal:s:${n}`, filename: `journal/u${n}`, path: '' });
    [1, 2, 1, 2, 1].forEach((n, i) => batcher.add(unit(n), { offset: i, end: i + 1, timestamp: String(i), text: `line ${i}`, fields: [['unit', `u${n}`]] }));
    batcher.flush();
    const body = JSON.parse(batches[0]!.body.toString()) as IngestRequest;
    expect(body.files.map((f) => [f.file_id, f.lines.map((l) => l.offset)])).toEqual([
      ['journal:s:1', [0, 2, 4]],
      ['journal:s:2', [1, 3]],
    ]);
    expect(body.files[0]!.lines[0]!.fields).toEqual({ unit: 'u1' });
  });

  it('writes any text as JSON: escapes, control characters, text beyond ASCII, cut pieces and fields', () => {
    const batches: Batch[] = [];
    const batcher = new InputBatcher(options, (batch) => batches.push(batch));
    const texts = ['plain', 'say "hi" \\ there\ttab\u0001', 'caf\u00e9 \ud83d\ude00', '\ufffd', ''];
    const group = { id: 'g', filename: 'journal/g', path: '/var/log/journal' };
    texts.forEach((text, i) => batcher.add(group, { offset: i, end: i + 1, timestamp: `${i}000`, text, cut: i === 1, fieldsJson: i === 2 ? ',"fields":{"unit":"caf\\u00e9"}' : undefined }));
    batcher.flush();
    const body = JSON.parse(batches[0]!.body.toString()) as IngestRequest;
    expect(body.host).toBe('box');
    expect(body.files[0]!.path).toBe('/var/log/journal');
    expect(body.files[0]!.lines).toEqual([
      { offset: 0, end: 1, timestamp: '0000', line: 'plain' },
      { offset: 1, end: 2, timestamp: '1000', line: texts[1], cut: true },
      { offset: 2, end: 3, timestamp: '2000', line: texts[2], fields: { unit: 'caf\u00e9' } },
      { offset: 3, end: 4, timestamp: '3000', line: '\ufffd' },
      { offset: 4, end: 5, timestamp: '4000', line: '' },
    ]);
  });

  it(`cuts a batch at ${MAX_INGEST_FILES} groups, the most Daniel takes in one request`, () => {
    const batches: Batch[] = [];
    const batcher = new InputBatcher(options, (batch) => batches.push(batch));
    const identities = MAX_INGEST_FILES * 2 + 5;
    for (let i = 0; i < identities; i++) batcher.add({ id: `id-${i}`, filename: `f${i}`, path: '' }, { offset: 0, end: 1, timestamp: '1', text: 'x' });
    batcher.flush();
    expect(batches.map((batch) => (JSON.parse(batch.body.toString()) as IngestRequest).files.length)).toEqual([MAX_INGEST_FILES, MAX_INGEST_FILES, 5]);
  });
});
