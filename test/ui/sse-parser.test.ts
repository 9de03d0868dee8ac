import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../ui/sse.js';

describe('SseParser', () => {
  it('parses id, event and multi-line data, and skips comments', () => {
    const parser = new SseParser();
    const events = parser.push(': ping\n\nid: 7\nevent: line\ndata: {"a":1}\ndata: second\n\n');
    expect(events).toEqual([{ type: 'line', data: '{"a":1}\nsecond', id: '7' }]);
    expect(parser.lastEventId).toBe('7');
  });

  it('keeps the last id for events without one and defaults the type to message', () => {
    const parser = new SseParser();
    expect(parser.push('id: 3\ndata: x\n\ndata: y\n\n')).toEqual([
      { type: 'message', data: 'x', id: '3' },
      { type: 'message', data: 'y', id: '3' },
    ]);
  });

  it('gives the same events however the stream is split, with CR, LF or CRLF line ends', () => {
    const eventArb = fc.record({
      id: fc.stringMatching(/^[a-zA-Z0-9._~-]{1,12}$/),
      type: fc.constantFrom('line', 'error', 'message'),
      data: fc.array(fc.string({ unit: 'grapheme' }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 6 }), fc.constantFrom('\n', '\r', '\r\n'), fc.array(fc.nat(), { maxLength: 8 }), (events, eol, cuts) => {
        const text = events.map((e) => [`: comment`, `id: ${e.id}`, `event: ${e.type}`, ...e.data.map((d) => `data: ${d}`), ''].join(eol) + eol).join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const parser = new SseParser();
        const seen = [];
        let last = 0;
        for (const point of [...points, text.length]) {
          seen.push(...parser.push(text.slice(last, point)));
          last = point;
        }
        expect(seen).toEqual(events.map((e) => ({ id: e.id, type: e.type, data: e.data.join('\n') })));
      }),
    );
  });

  it('does not dispatch an event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\ndata: partial')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ type: 'message', data: 'partial', id: '1' }]);
  });
});

describe('SseParser ids', () => {
  it('moves the last event id only when an event is complete', () => {
    const parser = new SseParser();
    parser.push('id: 1\ndata: a\n\nid: 2\ndata: b');
    expect(parser.lastEventId).toBe('1');
    parser.push('\n\n');
    expect(parser.lastEventId).toBe('2');
  });

  it('takes an id sent without data (a start position) once its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('id: 41\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('41');
  });
});
