/**
 * Ground truth: every line of the eight loghub 2k samples, parsed by the finder, against the
 * time built from the columns of its `_structured.csv`. Naive times are read in UTC; for
 * the year-less logs `notAfterMs` is the end of the log's year, so the inferred year is
 * the one the expectation uses. The data is read in place (../shared/data/loghub), never copied.
 */
import { describe, expect, it } from 'vitest';
import { loghubDir, loghubSample, type Row } from '../../test/lib/loghub.js';
import { createTimestampParser, FileLayout } from './timestamps.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function monthIndex(name: string): number {
  const index = MONTHS.indexOf(name);
  if (index < 0) throw new Error(`unknown month ${name}`);
  return index;
}

/** `hh:mm:ss[,.]fff` -> [h, m, s, ms] */
function clock(text: string): [number, number, number, number] {
  const m = /^(\d{2}):?(\d{2}):?(\d{2})(?:[.,](\d{3}))?$/.exec(text);
  if (!m) throw new Error(`bad time column ${text}`);
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
}


interface System {
  name: string;
  /** Whether the log writes milliseconds: then the check is to the ms, else to the second. */
  millis: boolean;
  /** For year-less logs: the year the expectation uses and the inference must give. */
  year?: number;
  expectedMs(row: Row, year: number): number;
}

const systems: System[] = [
  {
    name: 'Android', millis: true, year: 2017,
    expectedMs: (r, year) => {
      const [mo, d] = (r.Date as string).split('-').map(Number) as [number, number];
      return Date.UTC(year, mo - 1, d, ...clock(r.Time as string));
    },
  },
  {
    name: 'Apache', millis: false,
    expectedMs: (r) => {
      const [, mon, d, t, y] = (r.Time as string).split(/\s+/) as [string, string, string, string, string];
      return Date.UTC(Number(y), monthIndex(mon), Number(d), ...clock(t));
    },
  },
  {
    name: 'HDFS', millis: false,
    expectedMs: (r) => {
      const date = (r.Date as string).padStart(6, '0');
      const yy = Number(date.slice(0, 2)), mo = Number(date.slice(2, 4)), d = Number(date.slice(4, 6));
      return Date.UTC(2000 + yy, mo - 1, d, ...clock((r.Time as string).padStart(6, '0')));
    },
  },
  {
    name: 'Hadoop', millis: true,
    expectedMs: (r) => Date.parse(`${r.Date}T00:00:00Z`) + msOfDay(r.Time as string),
  },
  {
    name: 'Linux', millis: false, year: 2005,
    expectedMs: (r, year) => Date.UTC(year, monthIndex(r.Month as string), Number(r.Date), ...clock(r.Time as string)),
  },
  {
    name: 'OpenSSH', millis: false, year: 2015,
    expectedMs: (r, year) => Date.UTC(year, monthIndex(r.Date as string), Number(r.Day), ...clock(r.Time as string)),
  },
  {
    name: 'Spark', millis: false,
    expectedMs: (r) => {
      const [yy, mo, d] = (r.Date as string).split('/').map(Number) as [number, number, number];
      return Date.UTC(2000 + yy, mo - 1, d, ...clock(r.Time as string));
    },
  },
  {
    name: 'Zookeeper', millis: true,
    expectedMs: (r) => Date.parse(`${r.Date}T00:00:00Z`) + msOfDay(r.Time as string),
  },
];

function msOfDay(time: string): number {
  const [h, m, s, ms] = clock(time);
  return ((h * 60 + m) * 60 + s) * 1000 + ms;
}

describe.skipIf(loghubDir === undefined)('timestamps against loghub ground truth', () => {
  for (const system of systems) {
    it(`${system.name}: at least 99% of lines exact`, () => {
      const { lines, rows } = loghubSample(loghubDir!, system.name);
      expect(rows.length).toBe(lines.length);
      const parser = createTimestampParser({ timezone: 'UTC' });
      // One layout for the file, as the agent's stamper keeps one per file.
      const layout = new FileLayout();
      const year = system.year ?? 0;
      const notAfterMs = Date.UTC(year, 11, 31, 23, 59, 59);
      const unit = system.millis ? 1_000_000n : 1_000_000_000n;
      let exact = 0;
      const misses: string[] = [];
      rows.forEach((row, index) => {
        const line = lines[Number(row.LineId) - 1] as string;
        const expected = BigInt(system.expectedMs(row, year)) * 1_000_000n;
        const got = parser.parse(line, system.year === undefined ? undefined : notAfterMs, layout);
        if (got !== undefined && got / unit === expected / unit) exact++;
        else if (misses.length < 5) misses.push(`line ${index + 1}: got ${got} want ${expected}: ${line.slice(0, 100)}`);
      });
      const percent = (100 * exact) / rows.length;
      console.log(`loghub ${system.name.padEnd(9)} ${exact}/${rows.length} exact to the ${system.millis ? 'ms' : 'second'} (${percent.toFixed(2)}%)${misses.length ? '\n  ' + misses.join('\n  ') : ''}`);
      expect(percent).toBeGreaterThanOrEqual(99);
    });
  }
});

if (loghubDir === undefined) {
  console.warn('timestamps.loghub.test: skipped, no loghub data at ../shared/data/loghub or /work/shared/data/loghub');
}
