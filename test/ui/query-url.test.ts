import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addTerm, apiParams, emptyQuery, fieldTerm, highlightTerms, type Query, queryFromSearch, RANGE_PRESETS, searchFromQuery } from '../../ui/query.js';

describe('query in the URL', () => {
  it('uses the API parameter names', () => {
    const query: Query = { ...emptyQuery(), hosts: ['web1', 'db'], files: ['syslog'], text: 'level:error -healthz', caseSensitive: true, preset: '1h' };
    expect(searchFromQuery(query)).toBe('?host=web1&host=db&file=syslog&q=level%3Aerror+-healthz&case=sensitive&since=1h');
    // Words of q ignore case by default: no parameter for that.
    expect(apiParams({ ...query, caseSensitive: false }).has('case')).toBe(false);
    // A regex's API default is the other way round, so its case is always spelled out.
    expect(apiParams({ ...query, regex: true, caseSensitive: false }).toString()).toContain('regex=level%3Aerror+-healthz&case=insensitive');
  });

  it('keeps every filter of an older URL, as quoted phrases with the case they had', () => {
    const old = queryFromSearch('?filter=a&filter=say+%22hi%22&host=web');
    expect(old.text).toBe('"a" "say \\"hi\\""');
    expect(old.regex).toBe(false);
    // filter= matched case unless case=insensitive.
    expect(old.caseSensitive).toBe(true);
    expect(queryFromSearch('?filter=a&case=insensitive').caseSensitive).toBe(false);
    expect(queryFromSearch('?regex=a%2Fb').regex).toBe(true);
    expect(queryFromSearch('?regex=a%2Fb').caseSensitive).toBe(true);
    expect(queryFromSearch('?regex=x&regex=a%2Fb').text).toBe('/x/ /a\\/b/');
    expect(queryFromSearch('?q=x&filter=y').text).toBe('x "y"');
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
      caseSensitive: fc.boolean(),
      preset: fc.constantFrom(...RANGE_PRESETS, 'custom' as const),
      since: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
      until: fc.option(fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()), { nil: '' }),
      live: fc.boolean(),
    });
    fc.assert(
      fc.property(queryArb, (raw) => {
        const query: Query = raw.preset === 'custom' ? raw : { ...raw, since: '', until: '' };
        // An empty box is no search at all: it reads back as the default.
        const expected = query.text.trim() === '' ? { ...query, text: '', regex: false, caseSensitive: false } : query;
        expect(queryFromSearch(searchFromQuery(query))).toEqual(expected);
      }),
    );
  });
});

describe('terms from the field sidebar', () => {
  it('quotes a value that is not one plain word', () => {
    expect(fieldTerm('level', 'error')).toBe('level:error');
    expect(fieldTerm('level', 'error', true)).toBe('-level:error');
    expect(fieldTerm('msg', 'disk full')).toBe('msg:"disk full"');
    expect(fieldTerm('path', '/api/x')).toBe('path:"/api/x"');
    expect(fieldTerm('q', 'say "hi"')).toBe('q:"say \\"hi\\""');
    expect(fieldTerm('n', '-1')).toBe('n:"-1"');
    expect(fieldTerm('op', 'OR')).toBe('op:"OR"');
    expect(fieldTerm('e', '')).toBe('e:""');
  });

  it('ANDs a term, bracketing a query with OR at its top', () => {
    expect(addTerm('', 'level:error')).toBe('level:error');
    expect(addTerm('api', 'level:error')).toBe('api level:error');
    expect(addTerm('a OR b', 'level:error')).toBe('(a OR b) level:error');
    expect(addTerm('(a OR b) c', 'level:error')).toBe('(a OR b) c level:error');
    expect(addTerm('"x OR y"', 'level:error')).toBe('"x OR y" level:error');
  });
});

describe('highlighted terms', () => {
  it('are the positive words and phrases only', () => {
    expect(highlightTerms('timeout "connection reset" -healthz NOT ping level:error /re+/ a OR b (c) x*')).toEqual(['timeout', 'connection reset', 'a', 'b', 'c', 'x']);
  });
});
