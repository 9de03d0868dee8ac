/**
 * The stamper with the real finder, line by line as a file is read: what a line's own time
 * is, what it falls back to, and that no line's time can cost another line (every time is
 * storable, and a bad one never passes to the lines after it).
 */
import { describe, expect, it } from 'vitest';
import { nsToRfc3339, parseRfc3339 } from '../common/time.js';
import { INT64_MAX } from '../protocol/names.js';
import { Stamper } from './stamper.js';
import { createTimestampParser } from './timestamps.js';

const MTIME = Date.UTC(2021, 11, 31, 12);
const NOW = Date.UTC(2022, 0, 2, 9);

function at(text: string): bigint {
  const ns = parseRfc3339(text);
  if (ns === undefined) throw new Error(`bad expectation ${text}`);
  return ns;
}

/** Stamps `lines` as a backlog (read before the agent caught up) of a file modified at MTIME. */
function stampFile(lines: string[], live = false): string[] {
  const stamper = new Stamper(createTimestampParser({ timezone: 'UTC' }));
  return lines.map((line) => nsToRfc3339(stamper.stamp(line, live, MTIME, NOW)));
}

const MTIME_TEXT = '2021-12-31T12:00:00Z';

describe('a time outside the storable range is no time', () => {
  const bad = [
    '0001-01-01 00:00:00 +0000 UTC panic: zero time',
    'expires 9999-12-31T23:59:59Z for ever',
    '2312-07-30 10:00:00 INFO a line from the future',
    '1600-01-01 00:00:00 before the range',
  ];

  it.each(bad)('first line of a file: %s takes the mtime', (line) => {
    expect(stampFile([line])).toEqual([MTIME_TEXT]);
  });

  it.each(bad)('after a timed line: %s takes the previous time, and does not pass to the next lines', (line) => {
    expect(stampFile(['2021-12-14 07:59:50 INFO a', line, 'no time here', '2021-12-14 07:59:51 INFO b'])).toEqual([
      '2021-12-14T07:59:50Z', '2021-12-14T07:59:50Z', '2021-12-14T07:59:50Z', '2021-12-14T07:59:51Z',
    ]);
  });

  it('a live line without a time takes the read time', () => {
    expect(stampFile(['0001-01-01 00:00:00 +0000 UTC'], true)).toEqual(['2022-01-02T09:00:00Z']);
  });

  it('a later well-formed time in the same line is taken', () => {
    expect(stampFile(['0001-01-01 00:00:00 +0000 UTC retried at 2021-12-14T07:59:50Z'])).toEqual(['2021-12-14T07:59:50Z']);
  });

  it('the edges of the range are kept exactly', () => {
    const stamper = new Stamper(createTimestampParser({ timezone: 'UTC' }));
    expect(stamper.stamp('2262-04-11T23:47:16.854775807Z last', false, MTIME, NOW)).toBe(INT64_MAX);
    expect(stamper.stamp('2262-04-11T23:47:16.854775808Z one past', false, MTIME, NOW)).toBe(INT64_MAX);
    expect(stamper.stamp('1677-09-21T00:12:43.145224192Z first', false, MTIME, NOW)).toBe(-INT64_MAX - 1n);
  });

  it('a negative epoch time is a time', () => {
    expect(stampFile(['1970-01-01T00:00:00+01:00 the hour before the epoch', 'next'])).toEqual(['1969-12-31T23:00:00Z', '1969-12-31T23:00:00Z']);
  });

  it('an mtime or a checkpointed time outside the range is passed over', () => {
    const parser = createTimestampParser({ timezone: 'UTC' });
    expect(new Stamper(parser).stamp('no time', false, 1e16, NOW)).toBe(at('2022-01-02T09:00:00Z'));
    expect(new Stamper(parser, INT64_MAX + 1n).stamp('no time', false, MTIME, NOW)).toBe(at(MTIME_TEXT));
  });
});

describe('a plain number is no time without a pattern that says so', () => {
  it.each([
    '9876543210 called back',
    '4155551234567 is an id',
    '4155551234567890 is a longer id',
    '690101 000000 looks like HDFS in 1969',
    'id 690101 000000 in the middle',
  ])('%s', (line) => {
    expect(stampFile(['2021-12-14 07:59:50 INFO a', line])).toEqual(['2021-12-14T07:59:50Z', '2021-12-14T07:59:50Z']);
    expect(stampFile([line])).toEqual([MTIME_TEXT]);
  });

  it('an epoch in the past leading a line of a file whose lines lead with something else is no time', () => {
    expect(stampFile(['2021-12-14 07:59:50 INFO a', '1639508052 is an order number'])).toEqual(['2021-12-14T07:59:50Z', '2021-12-14T07:59:50Z']);
  });

  it('a file whose lines lead with epochs keeps them', () => {
    expect(stampFile(['1639508052.123 a', '1639508053 b', 'continued', '1639508054123 c'])).toEqual([
      '2021-12-14T18:54:12.123Z', '2021-12-14T18:54:13Z', '2021-12-14T18:54:13Z', '2021-12-14T18:54:14.123Z',
    ]);
  });

  it('an epoch or yyMMdd after a time key counts anywhere', () => {
    expect(stampFile(['{"level":"info","ts":1639508052.123456,"msg":"zap"}'])).toEqual(['2021-12-14T18:54:12.123456Z']);
    expect(stampFile(['level=info time=1639508052 msg=x'])).toEqual(['2021-12-14T18:54:12Z']);
    expect(stampFile(['# Time: 211214  7:59:50'])).toEqual(['2021-12-14T07:59:50Z']);
  });
});

describe('a logged search query in a JSON log', () => {
  const lines = [
    '{"level":"info","query":"from 0001-01-01 00:00:00 to 9999-12-31T23:59:59Z","time":"2021-12-14T07:59:50Z"}',
    '{"level":"info","query":"since 2020-01-01 00:00:00","time":"2021-12-14T07:59:51Z"}',
    '{"level":"info","query":"1639508052 690101 000000","time":"2021-12-14T07:59:52Z"}',
    '{"level":"info","msg":"plain","time":"2021-12-14T07:59:53Z"}',
    '{"level":"info","query":"Dec 1 10:00:00 and 12/01/2020 10:00:00","time":"2021-12-14T07:59:54Z"}',
  ];

  it('takes the time field, not a time in the query, from the first line on', () => {
    expect(stampFile(lines)).toEqual(['2021-12-14T07:59:50Z', '2021-12-14T07:59:51Z', '2021-12-14T07:59:52Z', '2021-12-14T07:59:53Z', '2021-12-14T07:59:54Z']);
    expect(stampFile([lines[1]!, lines[0]!])).toEqual(['2021-12-14T07:59:51Z', '2021-12-14T07:59:50Z']);
  });
});

describe('per-file layout', () => {
  it('reads ambiguous numeric dates day first in a file that showed a day over 12 first', () => {
    expect(stampFile(['13/01/2021 10:00:00 a', '03/04/2021 10:00:00 b'])).toEqual(['2021-01-13T10:00:00Z', '2021-04-03T10:00:00Z']);
    expect(stampFile(['01/13/2021 10:00:00 a', '03/04/2021 10:00:00 b'])).toEqual(['2021-01-13T10:00:00Z', '2021-03-04T10:00:00Z']);
    expect(stampFile(['13.01.2021 10:00:00 a', '03.04.2021 10:00:00 b'])).toEqual(['2021-01-13T10:00:00Z', '2021-04-03T10:00:00Z']);
    expect(stampFile(['[13.10 16:49:06] a', '[03.04 16:49:07] b'])).toEqual(['2021-10-13T16:49:06Z', '2021-04-03T16:49:07Z']);
  });

  it('keeps a file at its learned place for the time once it is learned', () => {
    expect(stampFile([
      'host=web-01 msg="started" ts=2021-12-14T07:59:50Z',
      'host=web-01 msg="deploy at 2021-12-01 10:00:00" ts=2021-12-14T07:59:51Z',
      'Dec 1 10:00:00 a line of another shape is still read',
    ])).toEqual(['2021-12-14T07:59:50Z', '2021-12-14T07:59:51Z', '2021-12-01T10:00:00Z']);
  });

  it('takes the year of a date earlier in the line for a year-less time', () => {
    expect(stampFile(['- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond[2915]: session closed'])).toEqual(['2005-11-09T12:01:01Z']);
  });
});

describe('an epoch column', () => {
  const hpc = (id: number, seconds: number): string => `${id} node-${id % 250} unix.hw state_change.unavailable ${seconds} 1 Component State Change: Component is in the unavailable state (HWID=${id % 5000})`;

  it('is the time of a file whose lines carry one in the same column from its first lines on', () => {
    const lines = [hpc(134681, 1077804742), hpc(350766, 1084680778), hpc(344518, 1084270955), hpc(344448, 1084270952), 'a line without', hpc(366633, 1085100843)];
    expect(stampFile(lines)).toEqual([
      MTIME_TEXT, MTIME_TEXT, '2004-05-11T10:22:35Z', '2004-05-11T10:22:32Z', '2004-05-11T10:22:32Z', '2004-05-21T00:54:03Z',
    ]);
  });

  it('is not learned from a number that moves between columns, nor from one line', () => {
    expect(stampFile(['order 1077804742 placed', 'user 42 order 1084680778', 'order 1084270955 done'])).toEqual([MTIME_TEXT, MTIME_TEXT, MTIME_TEXT]);
    expect(stampFile(['order 1077804742 placed'])).toEqual([MTIME_TEXT]);
  });
});
