/**
 * The fields a timestamp match fills and the pieces every format shares: date checks, the
 * clock (`HH:mm:ss`, fractions, AM/PM) and the zone after it. Char-code reads only, no
 * allocation. `matchers.ts` builds the formats from these.
 */
import { daysInMonth } from './calendar.js';

export const TAB = 9, SPACE = 32, PLUS = 43, COMMA = 44, MINUS = 45, DOT = 46, SLASH = 47, COLON = 58;

/** 10^(8-k): the weight of the k-th fraction digit in nanoseconds. */
export const FRACTION_WEIGHT = [1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1];

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57; // false for NaN (past the end)
}

export function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Two digits at `i` as a number, or -1. */
export function twoDigits(line: string, i: number): number {
  const a = line.charCodeAt(i) - 48;
  const b = line.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Four digits at `i` as a number, not followed by another digit, or -1. */
export function fourDigits(line: string, i: number): number {
  const high = twoDigits(line, i);
  const low = twoDigits(line, i + 2);
  return high < 0 || low < 0 || isDigit(line.charCodeAt(i + 4)) ? -1 : high * 100 + low;
}

export const MONTH_FIRST = 1, DAY_FIRST = 2;

/** One or two digits at `i`: `(value << 2) | count`, or -1 (none, or a third digit follows). */
export function shortNumber(line: string, i: number): number {
  const a = line.charCodeAt(i) - 48;
  if (!(a >= 0 && a <= 9)) return -1;
  const b = line.charCodeAt(i + 1) - 48;
  if (!(b >= 0 && b <= 9)) return (a << 2) | 1;
  return isDigit(line.charCodeAt(i + 2)) ? -1 : ((a * 10 + b) << 2) | 2;
}

export class TimestampFields {
  year = 0;
  /** False for year-less formats (syslog, Android): the caller infers the year. */
  yearKnown = true;
  month = 0;
  day = 0;
  hour = 0;
  minute = 0;
  second = 0;
  nanos = 0;
  /** Explicit zone offset in minutes; NaN for a naive time. */
  offsetMinutes = Number.NaN;
  /** Set for epoch numbers instead of the calendar fields. */
  epochSeconds = Number.NaN;
  /** Index just past the matched text (past the digit run when nothing matched). */
  end = 0;
  /**
   * The date is a plain number (an epoch, `yyMMdd`): taken only where a pattern says so
   * and only within the plausibility window (see docs/timestamps.md).
   */
  bare = false;
  /** Day/month order for numeric dates that could be either (the file's, from its layout). */
  order = 0;
  /** What this match showed of the order: a first field over 12 is DAY_FIRST evidence. */
  evidence = 0;
  /** A full date seen earlier in the line without a time (`2005.11.09 host Nov 9 12:01:01`). */
  dateOnlyYear = 0;
  dateOnlyMonth = 0;
  dateOnlyDay = 0;

  protected reset(): void {
    this.yearKnown = true;
    this.offsetMinutes = Number.NaN;
    this.epochSeconds = Number.NaN;
    this.nanos = 0;
    this.bare = false;
    this.evidence = 0;
  }

  /**
   * Reads `a<sep>b` as day and month in the order the numbers allow (a field over 12 is
   * the day, and is evidence for the file), else the file's learned order, else
   * `monthFirst` (the default for this shape).
   */
  protected dayMonth(year: number, a: number, b: number, monthFirst: boolean): boolean {
    if (a > 12 && b <= 12) {
      this.evidence = DAY_FIRST;
      return this.date(year, b, a);
    }
    if (b > 12 && a <= 12) {
      this.evidence = MONTH_FIRST;
      return this.date(year, a, b);
    }
    const first = this.order === 0 ? monthFirst : this.order === MONTH_FIRST;
    return first ? this.date(year, a, b) : this.date(year, b, a);
  }

  /** Stores the date; false when ill-formed. A year-less date is checked against a leap year. */
  protected date(year: number, month: number, day: number): boolean {
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
    this.year = year;
    this.month = month;
    this.day = day;
    return true;
  }

  /**
   * `HH:mm:ss`, each field one or two digits (`7:5:0`, `22:16:0`), then a fraction and
   * AM/PM. A third digit in a field makes it no time.
   */
  protected time(line: string, k: number): boolean {
    // The common shape first: HH:mm:ss, zero-padded.
    if (line.charCodeAt(k + 2) === COLON && line.charCodeAt(k + 5) === COLON) {
      const hh = twoDigits(line, k);
      const mm = twoDigits(line, k + 3);
      const ss = twoDigits(line, k + 6);
      if (hh >= 0 && mm >= 0 && ss >= 0) {
        if (hh > 23 || mm > 59 || ss > 60) return false;
        return this.secondsTail(line, k + 8, hh, mm, ss);
      }
    }
    return this.shortTime(line, k);
  }

  /** `H:m:s`: some field has one digit. */
  private shortTime(line: string, k: number): boolean {
    let c = line.charCodeAt(k);
    if (!isDigit(c)) return false;
    let hour = c - 48;
    c = line.charCodeAt(++k);
    if (isDigit(c)) {
      hour = hour * 10 + c - 48;
      c = line.charCodeAt(++k);
    }
    if (c !== COLON) return false;
    c = line.charCodeAt(++k);
    if (!isDigit(c)) return false;
    let minute = c - 48;
    c = line.charCodeAt(++k);
    if (isDigit(c)) {
      minute = minute * 10 + c - 48;
      c = line.charCodeAt(++k);
    }
    if (c !== COLON) return false;
    c = line.charCodeAt(++k);
    if (!isDigit(c)) return false;
    let second = c - 48;
    c = line.charCodeAt(++k);
    if (isDigit(c)) {
      second = second * 10 + c - 48;
      k++;
    }
    if (hour > 23 || minute > 59 || second > 60) return false;
    return this.secondsTail(line, k, hour, minute, second);
  }

  /** `HH.mm.ss` (DB2), then a fraction. */
  protected dottedTime(line: string, k: number): boolean {
    const hour = twoDigits(line, k);
    const minute = twoDigits(line, k + 3);
    const second = twoDigits(line, k + 6);
    if (line.charCodeAt(k + 2) !== DOT || line.charCodeAt(k + 5) !== DOT) return false;
    if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 60) return false;
    return this.secondsTail(line, k + 8, hour, minute, second);
  }

  /** `HHmmss` as in HDFS and ISO 8601 basic, then a fraction. */
  protected compactTime(line: string, k: number): boolean {
    const hour = twoDigits(line, k);
    const minute = twoDigits(line, k + 2);
    const second = twoDigits(line, k + 4);
    if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 60) return false;
    return this.secondsTail(line, k + 6, hour, minute, second);
  }

  /** After the seconds: `.` or `,` and up to 9 kept fraction digits, then ` AM`/` PM`. */
  protected secondsTail(line: string, k: number, hour: number, minute: number, second: number): boolean {
    let c = line.charCodeAt(k);
    if ((c === DOT || c === COMMA) && isDigit(line.charCodeAt(k + 1))) {
      let nanos = 0;
      let count = 0;
      c = line.charCodeAt(++k);
      while (isDigit(c)) {
        if (count < 9) nanos += (c - 48) * (FRACTION_WEIGHT[count] as number);
        count++;
        c = line.charCodeAt(++k);
      }
      this.nanos = nanos;
    } else if (c === COLON && isDigit(line.charCodeAt(k + 1))) {
      // 07:59:50:606, 07:59:35:11 (HealthApp): after a colon the digits count units, not
      // decimals: milliseconds for 1-3 digits, micro- for 4-6, nanoseconds for 7-9. No
      // further colon may follow (then it was a longer colon-separated number).
      let count = 0;
      let units = 0;
      let e = k + 1;
      let d = line.charCodeAt(e);
      while (isDigit(d)) {
        units = units * 10 + d - 48;
        count++;
        d = line.charCodeAt(++e);
      }
      if (d === COLON || count > 9) return false;
      this.nanos = count <= 3 ? units * 1e6 : count <= 6 ? units * 1e3 : units;
      k = e;
      c = d;
    } else if (isDigit(c)) {
      return false;
    }
    if (c === SPACE) {
      const a = line.charCodeAt(k + 1) | 0x20;
      const after = line.charCodeAt(k + 3);
      if ((a === 97 || a === 112) && (line.charCodeAt(k + 2) | 0x20) === 109 && !isLetter(after) && !isDigit(after)) {
        // A 24-hour time followed by a word "am"/"pm" keeps its hour.
        if (hour >= 1 && hour <= 12) {
          hour = (hour % 12) + (a === 112 ? 12 : 0);
          k += 3;
        }
      }
    }
    this.hour = hour;
    this.minute = minute;
    this.second = second;
    this.end = k;
    return true;
  }

  /** An optional zone after the time: `Z`, `+02:00`, `+0200`, `+02`, ` +0200`, ` UTC`, ` GMT+1`. Always true. */
  protected zone(line: string): boolean {
    const k = this.end;
    const c = line.charCodeAt(k);
    if (c === 90 || c === 122) {
      // 'Z' / 'z'
      if (!isLetter(line.charCodeAt(k + 1))) {
        this.offsetMinutes = 0;
        this.end = k + 1;
      }
    } else if (c === PLUS || c === MINUS) {
      this.offset(line, k, false);
    } else if (c === SPACE) {
      const d = line.charCodeAt(k + 1);
      if (d === PLUS || d === MINUS) {
        this.offset(line, k + 1, true);
      } else if ((d === 85 && line.startsWith('TC', k + 2)) || (d === 71 && line.startsWith('MT', k + 2))) {
        // ' UTC' / ' GMT', maybe followed by an offset: 'GMT+01:00'.
        if (!isLetter(line.charCodeAt(k + 4))) {
          this.offsetMinutes = 0;
          this.end = k + 4;
          const sign = line.charCodeAt(k + 4);
          if (sign === PLUS || sign === MINUS) this.offset(line, k + 4, false);
        }
      }
    }
    return true;
  }

  /** `+hh:mm`, `+hhmm`, or (unless `minutesRequired`) `+hh` at `k`; leaves the fields alone when absent. */
  protected offset(line: string, k: number, minutesRequired: boolean): boolean {
    const hours = twoDigits(line, k + 1);
    if (hours < 0 || hours > 18) return false;
    let minutes = 0;
    let end = k + 3;
    if (line.charCodeAt(end) === COLON && twoDigits(line, end + 1) >= 0) {
      minutes = twoDigits(line, end + 1);
      end += 3;
    } else if (twoDigits(line, end) >= 0) {
      minutes = twoDigits(line, end);
      end += 2;
    } else if (minutesRequired) {
      return false;
    }
    if (minutes > 59 || isDigit(line.charCodeAt(end))) return false;
    this.offsetMinutes = (line.charCodeAt(k) === MINUS ? -1 : 1) * (hours * 60 + minutes);
    this.end = end;
    return true;
  }
}
