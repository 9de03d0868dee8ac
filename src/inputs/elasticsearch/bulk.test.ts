import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseRfc3339 } from '../../common/time.js';
import { bulkResponse, decodeBulk, documentTime } from './bulk.js';

const NOW = 5n;

describe('documentTime', () => {
  test('RFC 3339 (zone-less as UTC), dates and epoch milliseconds', () => {
    expect(documentTime('2024-05-01T10:00:00.123456789+02:00')).toBe(1714550400123456789n);
    expect(documentTime('2024-05-01T10:00:00')).toBe(1714557600000000000n);
    expect(documentTime('2024-05-01')).toBe(1714521600000000000n);
    expect(documentTime(1714557600000)).toBe(1714557600000000000n);
    expect(documentTime('1714557600000')).toBe(1714557600000000000n);
    expect(documentTime('yesterday')).toBeUndefined();
    expect(documentTime(undefined)).toBeUndefined();
  });

  test('times that share their second with the one before are read as parseRfc3339 reads them, valid or not', () => {
    const second = fc.constantFrom('2024-05-01T10:00:00', '2024-05-01T10:00:01', '2024-05-01 23:59:59', '2024-02-30T10:00:00', '2024-05-01T24:00:00', '2024-05-01T10:00:0x');
    const fraction = fc.oneof(fc.constant(''), fc.stringMatching(/^[.,][0-9]{0,11}$/), fc.constantFrom('.', ',5', '.x'));
    const zone = fc.constantFrom('', 'Z', 'z', '+02:00', '-0530', '+2', 'Zjunk', ' ');
    const time = fc.tuple(second, fraction, zone).map(([s, f, z]) => s + f + z);
    fc.assert(
      fc.property(fc.array(time, { minLength: 1, maxLength: 8 }), (times) => {
        for (const text of times) expect(documentTime(text)).toBe(parseRfc3339(text.trim(), true));
      }),
    );
  });
});

describe('decodeBulk', () => {
  test('groups documents by host and index in order, keeps ids, and answers one item per action', () => {
    const text = [
      '{"index":{"_index":"a","_id":"1"}}',
      '{"message":"m1","host":{"hostname":"h1"},"n":1,"tags":["x"]}',
      '{"create":{"_index":"b"}}',
      '{"log":"m2","host":"h2","kubernetes":{"pod":{"name":"p"}}}',
      '{"update":{"_index":"a","_id":"1"}}',
      '{"doc":{"x":1}}',
      '{"index":{"_index":"a","_id":2}}',
      '{"message":"m3","host":{"hostname":"h1"}}',
    ].join('\r\n');
    const decoded = decodeBulk(text, undefined, {}, NOW);
    expect(decoded.batches).toEqual([
      {
        host: 'h1',
        filename: 'a',
        entries: [
          { timestamp: NOW, line: 'm1', id: '1', fields: { 'host.hostname': 'h1', n: '1', tags: '["x"]' } },
          { timestamp: NOW, line: 'm3', id: '2', fields: { 'host.hostname': 'h1' } },
        ],
      },
      { host: 'h2', filename: 'b', entries: [{ timestamp: NOW, line: 'm2', fields: { host: 'h2', 'kubernetes.pod.name': 'p' } }] },
    ]);
    const answer = bulkResponse(decoded, { accepted: 3, duplicates: 0, rejected: [] }, 1) as { errors: boolean; items: Record<string, { status: number; _id: string }>[] };
    expect(answer.errors).toBe(true);
    expect(answer.items.map((item) => Object.keys(item)[0])).toEqual(['index', 'create', 'update', 'index']);
    expect(answer.items.map((item) => Object.values(item)[0]?.status)).toEqual([201, 201, 400, 201]);
    expect(answer.items[0]?.index?._id).toBe('1');
    expect(answer.items[1]?.create?._id).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });

  test('an action line that is not one refuses the request; a missing index fails its item', () => {
    expect(() => decodeBulk('{"nope":{}}\n{}\n', 'i', {}, NOW)).toThrow(/must be an action/);
    expect(() => decodeBulk('{"index":{}}\n', 'i', {}, NOW)).toThrow(/no document line/);
    const decoded = decodeBulk('{"index":{}}\n{"message":"x"}\n', undefined, {}, NOW);
    expect(decoded.operations[0]?.error?.type).toBe('action_request_validation_exception');
  });
});
