/**
 * The format matchers. Each starts at one position of the line and either fills the fields
 * and returns true, or returns false (not this format, or ill-formed: month 13, Feb 30,
 * hour 25). The dispatch is by the first character and the shape of the first digit run,
 * so no format is tried where it cannot start, and nothing is allocated.
 */
import { daysInMonth, fullYearOfTwoDigits, monthNameAt, weekdayNameLength } from './calendar.js';
import { followsTimeKey } from './keys.js';
import { COLON, COMMA, DOT, fourDigits, FRACTION_WEIGHT, isDigit, isLetter, MINUS, PLUS, shortNumber, SLASH, SPACE, TAB, TimestampFields, twoDigits } from './fields.js';

/** A year written after a time (ctime): four digits 1900-2199 then no letter or digit. */
function trailingYear(line: string, i: number): number {
  const year = fourDigits(line, i);
  return year >= 1900 && year < 2200 && !isLetter(line.charCodeAt(i + 4)) ? year : -1;
}

function isUtcWord(line: string, i: number, length: number): boolean {
  if (length === 1) return line.charCodeAt(i) === 90; // Z
  if (length === 2) return line.startsWith('UT', i);
  return length === 3 && (line.startsWith('UTC', i) || line.startsWith('GMT', i));
}

export class TimestampMatch extends TimestampFields {
  /**
   * Stamps that only ever lead a line: glog / klog (Kubernetes), `I1214 07:59:50.123456 12345
   * file.go:12] msg`, year-less; and TAI64N, `@4000000061b84e7a1c2d3e4f msg` (daemontools'
   * multilog, s6-log, runit's svlogd -t): a TAI64 label (2^62 + 10 + Unix seconds, the
   * convention of libtai) and nanoseconds, both in hex.
   */
  leadStamp(line: string, i: number): boolean {
    const level = line.charCodeAt(i);
    if (level === 64) return this.tai64n(line, i + 1); // '@'
    if (level !== 73 && level !== 87 && level !== 69 && level !== 70) return false; // I W E F
    this.reset();
    const month = twoDigits(line, i + 1);
    const day = twoDigits(line, i + 3);
    if (day < 0 || line.charCodeAt(i + 5) !== SPACE || !this.date(2000, month, day)) return false;
    this.yearKnown = false;
    return this.time(line, i + 6);
  }

  private tai64n(line: string, i: number): boolean {
    if (!line.startsWith('4000000', i)) return false;
    let seconds = 0;
    let nanos = 0;
    for (let k = i + 7; k < i + 24; k++) {
      const c = line.charCodeAt(k);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (digit < 0) return false;
      if (k < i + 16) seconds = seconds * 16 + digit;
      else nanos = nanos * 16 + digit;
    }
    const after = line.charCodeAt(i + 24);
    if (nanos >= 1e9 || seconds < 10 || (i + 24 < line.length && after !== SPACE && after !== TAB)) return false;
    this.reset();
    this.epochSeconds = seconds - 10;
    this.nanos = nanos;
    this.end = i + 24;
    return true;
  }

  /**
   * Formats that start with the digit at `i`. A plain number (an epoch, `yyMMdd HHmmss`)
   * counts only when `bareLeads` (it leads the line of a file that leads with them) or
   * after a time key (`"ts":`, `time=`).
   */
  digitStart(line: string, i: number, bareLeads: boolean): boolean {
    this.reset();
    let j = i;
    let value = 0;
    let c = line.charCodeAt(j);
    while (isDigit(c)) {
      value = value * 10 + c - 48;
      c = line.charCodeAt(++j);
    }
    const digits = j - i;
    this.end = j;
    switch (digits) {
      case 1:
      case 2:
        return this.smallNumberFirst(line, value, digits, j, c);
      case 4:
        return (c === MINUS || c === SLASH || c === DOT) && value >= 1000 && this.yearFirst(line, value, j, c);
      case 6:
        return (c === SPACE || c === TAB) && (bareLeads || followsTimeKey(line, i)) && this.compactShortYear(line, value, j + 1);
      case 8:
        return this.compactIso(line, value, j, c);
      default:
        return (digits === 10 || digits === 13 || digits === 16 || digits === 19) && (bareLeads || followsTimeKey(line, i)) && this.epoch(line, i, j);
    }
  }

  /** Formats that start with a name at `i`: `Dec 14 07:59:50`, ctime, `Tue, 14 Dec 2021 ...`. */
  nameStart(line: string, i: number): boolean {
    this.reset();
    const weekday = weekdayNameLength(line, i);
    if (weekday === 0) return this.monthFirst(line, i);
    let k = i + weekday;
    if (line.charCodeAt(k) === COMMA) k++;
    if (line.charCodeAt(k) !== SPACE) return false;
    k++;
    const c = line.charCodeAt(k);
    if (isLetter(c)) return this.monthFirst(line, k);
    if (!isDigit(c)) return false;
    // Tue, 14 Dec 2021 07:59:50 GMT (RFC 2822) and Tue 14 Dec 2021 ... (date(1) in many locales)
    if (isDigit(line.charCodeAt(k + 1))) return this.dayMonthNameYear(line, twoDigits(line, k), k + 2);
    return this.dayMonthNameYear(line, c - 48, k + 1);
  }

  /**
   * `yyyy-MM-dd[T ]HH:mm:ss` and the same with `/` (nginx, Go) or `.` between the date's
   * parts, month and day with or without a zero; `yyyy-MM-dd-HH.mm.ss` (DB2). A date
   * without a time is remembered: a year-less time later in the line takes its year.
   */
  private yearFirst(line: string, year: number, j: number, separator: number): boolean {
    let month = twoDigits(line, j + 1);
    let day = -1;
    let e = j + 6;
    // The common shape first: MM and dd zero-padded.
    if (month >= 0 && line.charCodeAt(j + 3) === separator) day = twoDigits(line, j + 4);
    if (day < 0 || isDigit(line.charCodeAt(e))) {
      const m = shortNumber(line, j + 1);
      if (m < 0) return false;
      const k = j + 1 + (m & 3);
      if (line.charCodeAt(k) !== separator) return false;
      const d = shortNumber(line, k + 1);
      if (d < 0) return false;
      month = m >> 2;
      day = d >> 2;
      e = k + 1 + (d & 3);
    }
    if (!this.date(year, month, day)) return false;
    const between = line.charCodeAt(e);
    if (between === 84 || between === 116) { // 'T', 't'
      if (this.time(line, e + 1)) return this.zone(line);
    } else if (between === SPACE || between === TAB) {
      // One blank, or two before an hour padded with a space (MariaDB `2021-12-14  7:59:50`,
      // apt's `Start-Date: 2021-12-14  07:59:50`); a tab between columns (CloudFront, W3C).
      const t = between === SPACE && line.charCodeAt(e + 1) === SPACE ? e + 2 : e + 1;
      if (this.time(line, t)) return this.zone(line);
    } else if (between === MINUS && separator === MINUS) {
      // 2005-06-03-15.42.50.675872 (IBM DB2, BlueGene/L)
      if (this.dottedTime(line, e + 1)) return true;
    } else if (between === 95 || (between === MINUS && separator === SLASH)) {
      // 2021-12-14_07:59:50.12345 (runit's svlogd -tt), 2021/12/14-07:59:50
      if (this.time(line, e + 1)) return this.zone(line);
    } else if (isDigit(between) || isLetter(between)) {
      return false;
    }
    this.dateOnlyYear = year;
    this.dateOnlyMonth = month;
    this.dateOnlyDay = day;
    return false;
  }

  /** `yyyyMMddTHHmmss[.fff][Z|+hhmm]` (ISO 8601 basic) and `yyyyMMdd HH:mm:ss`. */
  private compactIso(line: string, value: number, j: number, c: number): boolean {
    if (!this.date(Math.floor(value / 10_000), Math.floor(value / 100) % 100, value % 100)) return false;
    if (c === SPACE) return this.time(line, j + 1) && this.zone(line);
    if (c === MINUS) return this.time(line, j + 1); // 20171223-22:15:29:606 (HealthApp)
    if (c !== 84) return false; // 'T'
    if (line.charCodeAt(j + 3) === COLON) return this.time(line, j + 1) && this.zone(line);
    return this.compactTime(line, j + 1) && this.zone(line);
  }

  /** `yyMMdd HHmmss` (HDFS) and `yyMMdd HH:mm:ss` / `yyMMdd  H:mm:ss` (MySQL 5), a space or a tab after the date. */
  private compactShortYear(line: string, value: number, k: number): boolean {
    const year = fullYearOfTwoDigits(Math.floor(value / 10_000));
    if (!this.date(year, Math.floor(value / 100) % 100, value % 100)) return false;
    this.bare = true;
    if (line.charCodeAt(k) === SPACE) return this.time(line, k + 1);
    if (line.charCodeAt(k + 1) === COLON || line.charCodeAt(k + 2) === COLON) return this.time(line, k);
    return this.compactTime(line, k);
  }

  /**
   * Formats whose first field has one or two digits: a day before a month name, or
   * numeric dates `a<sep>b<sep>year` and year-less `a<sep>b` with `-`, `/` or `.` between.
   * Which of a and b is the month: see dayMonth() and docs/timestamps.md.
   */
  private smallNumberFirst(line: string, first: number, digits: number, j: number, separator: number): boolean {
    const k = j + 1;
    const next = line.charCodeAt(k);
    if (separator === SPACE) {
      return isLetter(next) && this.dayMonthNameYear(line, first, j); // 14 Dec 2021 07:59:50
    }
    if (separator !== SLASH && separator !== MINUS && separator !== DOT) return false;
    // 10/Oct/2000:13:55:36 -0700, 14-Dec-2021 07:59:50.123, 14.Dec.2021 07:59:50
    if (isLetter(next)) return this.dayMonthNameYear(line, first, j);
    const secondField = shortNumber(line, k);
    if (secondField < 0) return false;
    const second = secondField >> 2;
    const m = k + (secondField & 3);
    const after = line.charCodeAt(m);
    if (after === SPACE) {
      // Year-less: 03-17 16:13:38.811 (Android), [10.30 16:49:06] (Proxifier), 12/14 07:59:50.
      if (!this.dayMonth(2000, first, second, true) || !this.time(line, m + 1)) return false;
      this.yearKnown = false;
      return this.zone(line);
    }
    if (after === MINUS && separator === SLASH && digits === 2 && (secondField & 3) === 2) {
      // Year-less month/day, a dash, the time: 12/14-07:59:50.123456 (Snort).
      if (!this.dayMonth(2000, first, second, true) || !this.time(line, m + 1)) return false;
      this.yearKnown = false;
      return this.zone(line);
    }
    if (after !== separator) return false;
    let t = m + 1;
    let third = 0;
    while (isDigit(line.charCodeAt(t)) && t - m <= 5) third = third * 10 + line.charCodeAt(t++) - 48;
    const thirdDigits = t - m - 1;
    const between = line.charCodeAt(t);
    if (thirdDigits === 4) {
      // 12/14/2021 07:59:50 AM (Windows, US), 14.12.2021 07:59:50, 14-12-2021 07:59:50,
      // 12/14/2021-07:59:50.123456 (Suricata).
      if (third < 1000 || (between !== SPACE && between !== 84 && between !== COLON && !(between === MINUS && separator === SLASH))) return false;
      return this.dayMonth(third, first, second, separator === SLASH) && this.time(line, t + 1) && this.zone(line);
    }
    if (thirdDigits !== 2 || between !== SPACE) return false;
    // 17/06/09 20:10:40 (Spark): yy/MM/dd (also with '-') when it reads as a date; else,
    // and always with dots, the year is last: 14.12.21 07:59:50.
    const yearFirst = separator !== DOT && digits === 2 && (secondField & 3) === 2 && this.date(fullYearOfTwoDigits(first), second, third);
    if (!yearFirst && !this.dayMonth(fullYearOfTwoDigits(third), first, second, separator === SLASH)) return false;
    return this.time(line, t + 1) && this.zone(line);
  }

  /** After the day at `j`: `[ /-]Mon[ /-]yyyy[ :]HH:mm:ss` and a zone (RFC 2822, Apache CLF, Tomcat). */
  private dayMonthNameYear(line: string, day: number, j: number): boolean {
    const separator = line.charCodeAt(j);
    if (separator !== SPACE && separator !== SLASH && separator !== MINUS && separator !== DOT) return false;
    const name = monthNameAt(line, j + 1);
    if (name === 0) return false;
    const k = j + 1 + (name & 15);
    if (line.charCodeAt(k) !== separator) return false;
    if (separator === SPACE && isDigit(line.charCodeAt(k + 1)) && line.charCodeAt(k + 3) === COLON) {
      // Year-less, a time right after the month: `14 Dec 07:59:50.123` (Redis 2).
      if (!this.date(2000, name >> 4, day) || !this.time(line, k + 1)) return false;
      this.yearKnown = false;
      return this.zone(line);
    }
    const year = fourDigits(line, k + 1);
    const between = line.charCodeAt(k + 5);
    if (year < 1000 || (between !== SPACE && between !== COLON)) return false;
    // `14-Dec-2021::07:59:50` (Erlang/OTP's error logger, RabbitMQ 3.6): two colons.
    const timeAt = between === COLON && line.charCodeAt(k + 6) === COLON ? k + 7 : k + 6;
    return this.date(year, name >> 4, day) && this.time(line, timeAt) && this.zone(line);
  }

  /**
   * After a month name at `i`: syslog `Dec 14 07:59:50` (day padded by a space or a zero),
   * ctime's tail `Dec 14 07:59:50 [ZONE ]2021`, `Dec 14 2021 07:59:50`, Java's
   * `Dec 14, 2021 7:59:50 AM`.
   */
  private monthFirst(line: string, i: number): boolean {
    const name = monthNameAt(line, i);
    if (name === 0) return false;
    let k = i + (name & 15);
    if (line.charCodeAt(k) !== SPACE) return false;
    k++;
    if (line.charCodeAt(k) === SPACE) k++;
    let day = twoDigits(line, k);
    if (day >= 0) k += 2;
    else if (isDigit(line.charCodeAt(k))) day = line.charCodeAt(k++) - 48;
    else return false;
    const month = name >> 4;
    if (line.charCodeAt(k) === COMMA && line.charCodeAt(k + 1) === SPACE) {
      const year = fourDigits(line, k + 2);
      return year >= 1000 && line.charCodeAt(k + 6) === SPACE && this.date(year, month, day) && this.time(line, k + 7) && this.zone(line);
    }
    if (line.charCodeAt(k) !== SPACE) return false;
    k++;
    const leadingYear = fourDigits(line, k);
    if (leadingYear >= 1000 && line.charCodeAt(k + 4) === SPACE) {
      return this.date(leadingYear, month, day) && this.time(line, k + 5) && this.zone(line);
    }
    if (!this.date(2000, month, day) || !this.time(line, k)) return false;
    this.yearKnown = false;
    this.ctimeYear(line);
    // Feb 29 is only well-formed in the leap year written after the time.
    return !this.yearKnown || this.day <= daysInMonth(this.year, this.month);
  }

  /** The year (and maybe zone) after a time: ` 2021`, ` UTC 2021`, ` CET 2021`, ` -0700 2021`. */
  private ctimeYear(line: string): void {
    const k = this.end;
    if (line.charCodeAt(k) !== SPACE) return;
    let year = trailingYear(line, k + 1);
    if (year > 0) {
      this.year = year;
      this.yearKnown = true;
      this.end = k + 5;
      return;
    }
    let w = k + 1;
    const c = line.charCodeAt(w);
    if (c === PLUS || c === MINUS) {
      if (!this.offset(line, w, true)) return;
      w = this.end;
    } else {
      // An upper-case abbreviation. Only UTC, UT, GMT and Z are unambiguous; others
      // (CST, IST ...) are read as naive times in the parser's zone.
      while (w - k <= 6 && line.charCodeAt(w) >= 65 && line.charCodeAt(w) <= 90) w++;
      if (w === k + 1 || w - k > 6) return;
      if (isUtcWord(line, k + 1, w - k - 1)) this.offsetMinutes = 0;
    }
    year = line.charCodeAt(w) === SPACE ? trailingYear(line, w + 1) : -1;
    if (year < 0) {
      this.offsetMinutes = Number.NaN;
      this.end = k;
      return;
    }
    this.year = year;
    this.yearKnown = true;
    this.end = w + 5;
  }

  /** Leading epoch seconds, ms, us or ns (the first ten digits are seconds), maybe with a fraction. */
  private epoch(line: string, i: number, j: number): boolean {
    let seconds = 0;
    for (let k = i; k < i + 10; k++) seconds = seconds * 10 + line.charCodeAt(k) - 48;
    if (seconds < 1e9) return false;
    this.epochSeconds = seconds;
    this.bare = true;
    let k = i + 10;
    let count = 0;
    let nanos = 0;
    const fractionAt = j + 1;
    for (;;) {
      if (k === j) {
        if (line.charCodeAt(j) !== DOT || !isDigit(line.charCodeAt(fractionAt)) || count === 9) break;
        k = fractionAt;
      }
      const c = line.charCodeAt(k);
      if (!isDigit(c)) break;
      if (count < 9) nanos += (c - 48) * (FRACTION_WEIGHT[count] as number);
      count++;
      k++;
    }
    if (isLetter(line.charCodeAt(k)) || isDigit(line.charCodeAt(k))) return false;
    this.nanos = nanos;
    this.end = k;
    return true;
  }
}
