/**
 * Property: for random instants and every supported format, the instant written in that
 * format, between random text without digits, comes back from the parser (to the
 * format's precision) when it is storable (signed 64-bit ns), and plain-number formats
 * only within their plausibility window; any other instant gives no time at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INT64_MAX } from '../protocol/names.js';
import { createTimestampParser } from './timestamps.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FULL_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** The written fields of an instant as seen at `offsetMinutes` from UTC. */
interface Fields {
  y: number; mo: number; d: number; h: number; mi: number; s: number; wd: string; mon: string;
  /** The kept fraction digits ('' for none). */
  frac: string;
  offsetMinutes: number;
  /** Which of a format's spellings to use. */
  variant: number;
}

interface Format {
  name: string;
  fromYear: number;
  toYear: number;
  fractionDigits: number[];
  /** Whether the format writes a zone offset; otherwise the text is naive (read in UTC here). */
  offset: boolean;
  /** Epochs count only where they lead the line. */
  leadsOnly?: boolean;
  /** Year-less: notAfterMs is set a little after the instant. */
  yearless?: boolean;
  /** A plain number (epoch, yyMMdd): taken from 2000 to a day past notAfterMs only. */
  bare?: boolean;
  render(f: Fields, seconds: number, nanos: number): string;
}

function offsetText(minutes: number, colon: boolean): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${p2(Math.floor(abs / 60))}${colon ? ':' : ''}${p2(abs % 60)}`;
}

const dot = (f: Fields, separator = '.'): string => (f.frac === '' ? '' : separator + f.frac);
const hms = (f: Fields): string => `${p2(f.h)}:${p2(f.mi)}:${p2(f.s)}`;
const h12 = (f: Fields): string => `${f.h % 12 || 12}:${p2(f.mi)}:${p2(f.s)} ${f.h < 12 ? 'AM' : 'PM'}`;
const ymd = (f: Fields, sep: string): string => `${f.y}${sep}${p2(f.mo)}${sep}${p2(f.d)}`;
const ALL_FRACTIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

const formats: Format[] = [
  {
    name: 'ISO 8601 with a zone', fromYear: 1000, toYear: 9999, fractionDigits: ALL_FRACTIONS, offset: true,
    render: (f) => {
      const zone = f.offsetMinutes === 0 && f.variant % 3 === 0 ? ['Z', ' UTC', 'z'][f.variant % 9 / 3]! : offsetText(f.offsetMinutes, f.variant % 2 === 0);
      return `${ymd(f, '-')}${'T t'[f.variant % 3]}${hms(f)}${dot(f, '.,'[f.variant % 2])}${f.variant % 5 === 0 && zone[0] !== ' ' ? ' ' + zone.replace(':', '') : zone}`;
    },
  },
  { name: 'ISO 8601 naive', fromYear: 1000, toYear: 9999, fractionDigits: ALL_FRACTIONS, offset: false, render: (f) => `${ymd(f, '-')}${'T '[f.variant % 2]}${hms(f)}${dot(f, '.,'[f.variant % 2])}` },
  { name: 'yyyy/MM/dd (nginx, Go)', fromYear: 1000, toYear: 9999, fractionDigits: [0, 3, 6], offset: false, render: (f) => `${ymd(f, '/')} ${hms(f)}${dot(f)}` },
  { name: 'ISO 8601 basic', fromYear: 1000, toYear: 9999, fractionDigits: [0, 3], offset: true, render: (f) => `${ymd(f, '')}T${p2(f.h)}${p2(f.mi)}${p2(f.s)}${dot(f)}${f.offsetMinutes === 0 ? 'Z' : offsetText(f.offsetMinutes, false)}` },
  { name: 'syslog', fromYear: 1970, toYear: 2200, fractionDigits: [0, 0, 3, 6], offset: false, yearless: true, render: (f) => `${f.mon} ${f.variant % 2 ? String(f.d).padStart(2, ' ') : p2(f.d)} ${hms(f)}${dot(f)}` },
  { name: 'ctime', fromYear: 1900, toYear: 2199, fractionDigits: [0], offset: false, render: (f) => `${f.wd} ${f.mon} ${String(f.d).padStart(2, ' ')} ${hms(f)} ${f.y}` },
  { name: 'ctime with a zone', fromYear: 1900, toYear: 2199, fractionDigits: [0], offset: true, render: (f) => `${f.wd} ${f.mon} ${p2(f.d)} ${hms(f)} ${f.offsetMinutes === 0 && f.variant % 2 ? 'UTC' : offsetText(f.offsetMinutes, false)} ${f.y}` },
  { name: 'Apache error', fromYear: 1900, toYear: 2199, fractionDigits: [0, 6], offset: false, render: (f) => `[${f.wd} ${f.mon} ${p2(f.d)} ${hms(f)}${dot(f)} ${f.y}]` },
  { name: 'Apache access', fromYear: 1000, toYear: 9999, fractionDigits: [0], offset: true, render: (f) => `[${p2(f.d)}/${f.mon}/${f.y}:${hms(f)} ${offsetText(f.offsetMinutes, false)}]` },
  { name: 'RFC 2822', fromYear: 1000, toYear: 9999, fractionDigits: [0], offset: true, render: (f) => `${f.wd}, ${p2(f.d)} ${f.mon} ${f.y} ${hms(f)} ${f.offsetMinutes === 0 && f.variant % 2 ? 'GMT' : offsetText(f.offsetMinutes, false)}` },
  { name: 'Tomcat / BIND', fromYear: 1000, toYear: 9999, fractionDigits: [0, 3], offset: false, render: (f) => `${p2(f.d)}-${f.mon}-${f.y} ${hms(f)}${dot(f)}` },
  { name: 'Java', fromYear: 1000, toYear: 9999, fractionDigits: [0], offset: false, render: (f) => `${f.variant % 2 ? f.mon : FULL_MONTHS[f.mo - 1]} ${f.d}, ${f.y} ${h12(f)}` },
  { name: 'Windows (month first)', fromYear: 1000, toYear: 9999, fractionDigits: [0], offset: false, render: (f) => (f.variant % 2 ? `${p2(f.mo)}/${p2(f.d)}/${f.y} ${h12(f)}` : `${f.mo}/${f.d}/${f.y} ${h12(f)}`) },
  { name: 'dd.MM.yyyy', fromYear: 1000, toYear: 9999, fractionDigits: [0, 3], offset: false, render: (f) => `${p2(f.d)}.${p2(f.mo)}.${f.y} ${hms(f)}${dot(f)}` },
  { name: 'Spark yy/MM/dd', fromYear: 1969, toYear: 2068, fractionDigits: [0], offset: false, render: (f) => `${p2(f.y % 100)}/${p2(f.mo)}/${p2(f.d)} ${hms(f)}` },
  { name: 'HDFS yyMMdd HHmmss', fromYear: 1969, toYear: 2068, fractionDigits: [0], offset: false, leadsOnly: true, bare: true, render: (f) => `${p2(f.y % 100)}${p2(f.mo)}${p2(f.d)} ${p2(f.h)}${p2(f.mi)}${p2(f.s)}` },
  { name: 'MySQL yyMMdd H:mm:ss', fromYear: 1969, toYear: 2068, fractionDigits: [0], offset: false, leadsOnly: true, bare: true, render: (f) => `${p2(f.y % 100)}${p2(f.mo)}${p2(f.d)} ${f.h < 10 ? ' ' + String(f.h) : p2(f.h)}:${p2(f.mi)}:${p2(f.s)}` },
  { name: 'glog / klog', fromYear: 1970, toYear: 2200, fractionDigits: [0, 6], offset: false, yearless: true, leadsOnly: true, render: (f) => `${'IWEF'[f.variant % 4]}${p2(f.mo)}${p2(f.d)} ${hms(f)}${dot(f)}` },
  { name: 'DB2 / BlueGene', fromYear: 1000, toYear: 9999, fractionDigits: [0, 6], offset: false, render: (f) => `${ymd(f, '-')}-${p2(f.h)}.${p2(f.mi)}.${p2(f.s)}${dot(f)}` },
  { name: 'HealthApp yyyyMMdd-HH:mm:ss:SSS', fromYear: 1000, toYear: 9999, fractionDigits: [3], offset: false, render: (f) => `${ymd(f, '')}-${hms(f)}:${f.frac}` },
  { name: 'Android', fromYear: 1970, toYear: 2200, fractionDigits: [3], offset: false, yearless: true, render: (f) => `${p2(f.mo)}-${p2(f.d)} ${hms(f)}${dot(f)}` },
  {
    name: 'epoch', fromYear: 2002, toYear: 2285, fractionDigits: [0, 3, 6, 9], offset: false, leadsOnly: true, bare: true,
    render: (f, seconds) => {
      // Seconds or ms, written whole or with a fraction: 1639508052.123, 1639508052123, 1639508052123.456
      if (f.variant % 2 === 0 || f.frac.length < 3) return `${seconds}${dot(f)}`;
      return `${seconds}${f.frac.slice(0, 3)}${dot({ ...f, frac: f.frac.slice(3) })}`;
    },
  },
];

const TEXT_CHARS = [...'abcxyzDEFQ []()=:;|"\'_<>#@!?*&%$~{}\t'];
const text = fc.string({ unit: fc.constantFrom(...TEXT_CHARS), maxLength: 24 });

function fieldsAt(seconds: number, offsetMinutes: number, frac: string, variant: number): Fields {
  const date = new Date((seconds + offsetMinutes * 60) * 1000);
  return {
    y: date.getUTCFullYear(), mo: date.getUTCMonth() + 1, d: date.getUTCDate(), h: date.getUTCHours(), mi: date.getUTCMinutes(), s: date.getUTCSeconds(),
    wd: WEEKDAYS[date.getUTCDay()]!, mon: MONTHS[date.getUTCMonth()]!, frac, offsetMinutes, variant,
  };
}

describe('every format round-trips through the parser', () => {
  for (const format of formats) {
    it(format.name, () => {
      const parser = createTimestampParser({ timezone: 'UTC' });
      const minSeconds = Date.UTC(format.fromYear, 0, 2) / 1000;
      const maxSeconds = Date.UTC(format.toYear, 11, 30) / 1000;
      fc.assert(
        fc.property(
          fc.integer({ min: minSeconds, max: maxSeconds }),
          fc.integer({ min: 0, max: 999_999_999 }),
          fc.constantFrom(...format.fractionDigits),
          fc.integer({ min: -48, max: 56 }).map((quarters) => (format.offset ? quarters * 15 : 0)),
          fc.nat(1000),
          format.leadsOnly ? fc.constantFrom('', ' ', '[', '  [ ') : text.map((t) => (t === '' ? '' : t + ' ')),
          text,
          fc.integer({ min: 0, max: 300 }),
          (seconds, nanosRaw, digits, offsetMinutes, variant, prefix, suffix, daysAfter) => {
            const frac = digits === 0 ? '' : String(nanosRaw).padStart(9, '0').slice(0, digits);
            const nanos = Number(frac.padEnd(9, '0'));
            const written = format.render(fieldsAt(seconds, offsetMinutes, frac, variant), seconds, nanos);
            const line = `${prefix}${written} |${suffix}`;
            // Bare formats: notAfterMs up to 10 days before the instant, so both sides of the window are tried.
            const notAfterMs = format.yearless ? seconds * 1000 + daysAfter * 86_400_000 : format.bare ? seconds * 1000 + (daysAfter - 10) * 86_400_000 : undefined;
            const expected = BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
            const storable = expected <= INT64_MAX && expected >= -INT64_MAX - 1n;
            const plausible = !format.bare || (seconds * 1000 >= Date.UTC(2000, 0, 1) && seconds * 1000 <= notAfterMs! + 86_400_000);
            expect(parser.parse(line, notAfterMs), line).toBe(storable && plausible ? expected : undefined);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe('naive times in a zone with DST', () => {
  const zones = ['Europe/Oslo', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham'];
  it('read back to the same wall-clock time', () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(1990, 0, 1) / 1000, max: Date.UTC(2040, 0, 1) / 1000 }), (zone, seconds) => {
        const wallClock = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
        const local = wallClock.format(new Date(seconds * 1000)); // "2021-12-14 07:59:50"
        const parsed = createTimestampParser({ timezone: zone }).parse(`${local} INFO x`);
        expect(parsed).toBeDefined();
        expect(wallClock.format(new Date(Number(parsed! / 1_000_000n))), local).toBe(local);
        // In an overlap the earlier instant wins, so the result is never later than the truth.
        expect(parsed! <= BigInt(seconds) * 1_000_000_000n).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
