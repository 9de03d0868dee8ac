import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiParams, emptyQuery, type Query, queryFromSearch, RANGE_PRESETS, searchFromQuery } from '../../ui/query.js';

describe('query in the URL', () => {
  it('uses the API parameter names', () => {
    const query: Query = { ...emptyQuery(), hosts: ['web1', 'db'], files: ['syslog'], text: 'time out', caseInsensitive: true, preset: '1h' };
    expect(searchFromQuery(query)).toBe('?host=web1&host=db&file=syslog&filter=time+out&case=insensitive&since=1h');
    expect(apiParams({ ...query, regex: true }).get('regex')).toBe('time out');
  });

  it('leaves the time range out of live tail', () => {
    const query: Query = { ...emptyQuery(), preset: 'custom', since: '2024-01-01T00:00:00.000Z', until: '2024-01-02T00:00:00.000Z', live: true };
    expect(apiParams(query, { forLive: true }).has('since')).toBe(false);
    expect(searchFromQuery(query)).toContain('live=1');
  });

  it('reads back what it wrote', () => {
    const queryArb = fc.record({
      hosts: fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 3 }),
      files: fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 3 }),
      text: fc.string(),
      regex: fc.boolean(),
      caseInsensitive: fc.boolean(),
      preset: fc.constantFrom(...RANGE_PRESETS, 'custom' as const),
      since: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
      until: fc.option(fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()), { nil: '' }),
      live: fc.boolean(),
    });
    fc.assert(
      fc.property(queryArb, (raw) => {
        const query: Query = raw.preset === 'custom' ? raw : { ...raw, since: '', until: '' };
        // An empty regex is no filter at all, which reads back as a plain empty filter.
        const expected = query.text === '' ? { ...query, regex: false } : query;
        expect(queryFromSearch(searchFromQuery(query))).toEqual(expected);
      }),
    );
  });
});
