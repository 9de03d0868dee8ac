import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nsToRfc3339, parseRfc3339 } from '../common/time.js';
import { createTimestampParser } from './timestamps.js';

const fixtureFile = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'timestamps', 'formats.tsv');
const NOT_AFTER = Date.UTC(2021, 11, 31);

function rfc(text: string): bigint {
  const ns = parseRfc3339(text);
  if (ns === undefined) throw new Error(`bad expectation ${text}`);
  return ns;
}

function shown(ns: bigint | undefined): string {
  return ns === undefined ? '-' : nsToRfc3339(ns);
}

describe('formats (test/fixtures/timestamps/formats.tsv)', () => {
  const cases = readFileSync(fixtureFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const tab = line.indexOf('\t');
      return { expected: line.slice(0, tab), line: line.slice(tab + 1) };
    });

  it('holds enough cases to mean something', () => {
    expect(cases.length).toBeGreaterThan(50);
  });

  it.each(cases)('$line', ({ expected, line }) => {
    const parser = createTimestampParser({ timezone: 'UTC' });
    expect(shown(parser.parse(line, NOT_AFTER))).toBe(expected === '-' ? '-' : shown(rfc(expected)));
  });

  it('gives the same answers when one parser reads them all in a row (caches do not leak)', () => {
    const shared = createTimestampParser({ timezone: 'UTC' });
    for (const { expected, line } of [...cases, ...cases.slice().reverse()]) {
      expect(shown(shared.parse(line, NOT_AFTER)), line).toBe(expected === '-' ? '-' : shown(rfc(expected)));
    }
  });
});

describe('year inference', () => {
  const parser = createTimestampParser({ timezone: 'UTC' });

  it('gives the latest year that is not after notAfterMs', () => {
    expect(shown(parser.parse('Dec 31 23:00:00 host x', Date.UTC(2022, 0, 5)))).toBe('2021-12-31T23:00:00Z');
    expect(shown(parser.parse('Jan  3 00:00:00 host x', Date.UTC(2021, 11, 31)))).toBe('2021-01-03T00:00:00Z');
    expect(shown(parser.parse('06-30 12:00:00.000 1 2 I x', Date.UTC(2021, 5, 1)))).toBe('2020-06-30T12:00:00Z');
  });

  it('allows a day of clock skew before going back a year', () => {
    expect(shown(parser.parse('Jan  1 00:30:00 host x', Date.UTC(2021, 11, 31, 23, 59)))).toBe('2022-01-01T00:30:00Z');
    expect(shown(parser.parse('Jan  1 23:00:00 host x', Date.UTC(2021, 11, 31, 23, 59)))).toBe('2022-01-01T23:00:00Z');
    expect(shown(parser.parse('Jan  3 00:30:00 host x', Date.UTC(2021, 11, 31, 23, 59)))).toBe('2021-01-03T00:30:00Z');
  });

  it('goes back to a leap year for Feb 29', () => {
    expect(shown(parser.parse('Feb 29 10:00:00 host x', Date.UTC(2023, 5, 1)))).toBe('2020-02-29T10:00:00Z');
    expect(shown(parser.parse('02-29 10:00:00.000 1 2 I x', Date.UTC(2024, 2, 1)))).toBe('2024-02-29T10:00:00Z');
  });

  it('defaults notAfterMs to now', () => {
    const now = new Date();
    const line = `${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][now.getUTCMonth()]} ${now.getUTCDate()} 00:00:00 host x`;
    expect(shown(parser.parse(line))?.slice(0, 4)).toBe(String(now.getUTCFullYear()));
  });

  it('does not touch lines that carry their year', () => {
    expect(shown(parser.parse('2030-01-01 00:00:00 future', Date.UTC(2021, 0, 1)))).toBe('2030-01-01T00:00:00Z');
  });
});

describe('timezones', () => {
  const savedTz = process.env.TZ;
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('reads naive times in the parser zone, across DST', () => {
    const oslo = createTimestampParser({ timezone: 'Europe/Oslo' });
    expect(shown(oslo.parse('2021-01-15 12:00:00 winter'))).toBe('2021-01-15T11:00:00Z');
    expect(shown(oslo.parse('2021-07-15 12:00:00 summer'))).toBe('2021-07-15T10:00:00Z');
    expect(shown(oslo.parse('Jul 15 12:00:00 host syslog', Date.UTC(2021, 11, 1)))).toBe('2021-07-15T10:00:00Z');
  });

  it('reads a time in the spring-forward gap with the offset before it, and the earlier of an overlap', () => {
    const oslo = createTimestampParser({ timezone: 'Europe/Oslo' });
    expect(shown(oslo.parse('2021-03-28 01:59:59 before'))).toBe('2021-03-28T00:59:59Z');
    expect(shown(oslo.parse('2021-03-28 02:30:00 gap'))).toBe('2021-03-28T01:30:00Z');
    expect(shown(oslo.parse('2021-03-28 03:00:00 after'))).toBe('2021-03-28T01:00:00Z');
    expect(shown(oslo.parse('2021-10-31 02:30:00 overlap'))).toBe('2021-10-31T00:30:00Z');
    expect(shown(oslo.parse('2021-10-31 03:00:00 after'))).toBe('2021-10-31T02:00:00Z');
  });

  it('handles zones with half-hour offsets and southern-hemisphere DST', () => {
    expect(shown(createTimestampParser({ timezone: 'Asia/Kolkata' }).parse('2021-12-14 12:00:00'))).toBe('2021-12-14T06:30:00Z');
    const sydney = createTimestampParser({ timezone: 'Australia/Sydney' });
    expect(shown(sydney.parse('2021-01-15 12:00:00'))).toBe('2021-01-15T01:00:00Z');
    expect(shown(sydney.parse('2021-07-15 12:00:00'))).toBe('2021-07-15T02:00:00Z');
  });

  it('keeps the seconds of old local-mean-time offsets', () => {
    // Oslo kept its local mean time, +00:53:28, until 1895.
    expect(shown(createTimestampParser({ timezone: 'Europe/Oslo' }).parse('1880-06-01 12:00:00'))).toBe('1880-06-01T11:06:32Z');
  });

  it('uses an explicit zone in the line over the parser zone', () => {
    const oslo = createTimestampParser({ timezone: 'Europe/Oslo' });
    expect(shown(oslo.parse('2021-07-15T12:00:00Z'))).toBe('2021-07-15T12:00:00Z');
    expect(shown(oslo.parse('2021-07-15T12:00:00+05:00'))).toBe('2021-07-15T07:00:00Z');
    expect(shown(oslo.parse('2021-07-15T12:00:00'))).toBe('2021-07-15T10:00:00Z');
  });

  it('defaults to TZ from the environment', () => {
    process.env.TZ = 'Asia/Tokyo';
    expect(shown(createTimestampParser().parse('2021-12-14 09:00:00'))).toBe('2021-12-14T00:00:00Z');
    process.env.TZ = 'UTC';
    expect(shown(createTimestampParser({}).parse('2021-12-14 09:00:00'))).toBe('2021-12-14T09:00:00Z');
  });

  it('rejects an unknown timezone with a sentence that says what to use', () => {
    expect(() => createTimestampParser({ timezone: 'Mars/Olympus' })).toThrow(/IANA name/);
  });
});

describe('precision and caches', () => {
  it('keeps nanoseconds and tells lines in the same minute apart', () => {
    const parser = createTimestampParser({ timezone: 'UTC' });
    const base = rfc('2021-12-14T07:59:00Z');
    expect(parser.parse('2021-12-14T07:59:50.000000001Z')).toBe(base + 50_000_000_001n);
    expect(parser.parse('2021-12-14T07:59:50.000000001Z')).toBe(base + 50_000_000_001n);
    expect(parser.parse('2021-12-14T07:59:50.000000002Z')).toBe(base + 50_000_000_002n);
    expect(parser.parse('2021-12-14T07:59:51Z')).toBe(base + 51_000_000_000n);
    expect(parser.parse('2021-12-14T07:59:51+01:00')).toBe(base + 51_000_000_000n - 3_600_000_000_000n);
    expect(parser.parse('2021-12-14T07:59:59.999999999Z')).toBe(base + 59_999_999_999n);
  });

  it('keeps separate parsers independent', () => {
    const utc = createTimestampParser({ timezone: 'UTC' });
    const tokyo = createTimestampParser({ timezone: 'Asia/Tokyo' });
    expect(utc.parse('2021-12-14 09:00:00')! - tokyo.parse('2021-12-14 09:00:00')!).toBe(9n * 3_600_000_000_000n);
  });
});
