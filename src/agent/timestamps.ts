/**
 * Finds the time a log line was written (SPEC.md "What a line becomes"): the earliest
 * well-formed timestamp anywhere in the line, in any of the formats docs/timestamps.md
 * lists. Built for the agent's hot path: one pass over the line's char codes, no
 * allocation but the returned bigint, and the zone offset and the epoch minute cached
 * from the previous line.
 */
import { daysFromCivil, isLeapYear, MS_PER_DAY, MS_PER_MINUTE, utcYearOf } from './timestamps/calendar.js';
import { TimestampMatch } from './timestamps/matchers.js';
import { resolveTimeZone, ZoneClock } from './timestamps/zone.js';

export interface TimestampParserOptions {
  /** IANA zone naive times are read in, e.g. 'Europe/Oslo'; default: process.env.TZ, else the system zone. */
  timezone?: string;
}

export interface TimestampParser {
  /**
   * ns since the epoch, or undefined when the line holds no timestamp. A year-less time
   * gets the latest year that does not put it after `notAfterMs` (default now) plus a day.
   */
  parse(line: string, notAfterMs?: number): bigint | undefined;
}

/** Clock skew allowed when inferring a year: a line may be up to a day "in the future". */
const YEAR_INFERENCE_TOLERANCE_MS = MS_PER_DAY;
const NS_PER_MINUTE = 60_000_000_000n;

// Character classes, indexed by char code < 128.
const DIGIT = 1, NAME_START = 2, WORD = 4, BLOCKS_DIGIT = 8;
const CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT | WORD | BLOCKS_DIGIT;
for (const range of [[65, 90], [97, 122]] as const) {
  for (let c = range[0]; c <= range[1]; c++) CLASS[c] = WORD | BLOCKS_DIGIT;
}
// First letters of month and weekday names.
for (const letter of 'ADFJMNOSTW') {
  CLASS[letter.charCodeAt(0)]! |= NAME_START;
  CLASS[letter.toLowerCase().charCodeAt(0)]! |= NAME_START;
}
// A number glued to these is part of something else (a version, an id, a date's tail).
for (const c of '.-/') CLASS[c.charCodeAt(0)] = BLOCKS_DIGIT;

function classOf(c: number): number {
  return c < 128 ? (CLASS[c] as number) : 0;
}

/** Where an epoch number may stand: the line's start after blanks and one `[` or `(`. */
function leadIndex(line: string): number {
  let i = 0;
  let c = line.charCodeAt(i);
  while (c === 32 || c === 9) c = line.charCodeAt(++i);
  if (c === 91 || c === 40) {
    c = line.charCodeAt(++i);
    while (c === 32 || c === 9) c = line.charCodeAt(++i);
  }
  return i;
}

class Finder implements TimestampParser {
  private readonly match = new TimestampMatch();
  private readonly zone: ZoneClock;
  // The last result, by UTC minute: lines in a burst share it.
  private lastMinute = Number.NaN;
  private lastMinuteNs = 0n;
  private lastWithinMinuteNs = -1;
  private lastResult = 0n;
  // The fields utcMinuteMs() last converted (minute, hour, day, month, year, offset) and its result.
  private readonly minuteKey = new Float64Array(6).fill(Number.NaN);
  private minuteKeyMs = 0;
  // The UTC year range year inference last started from.
  private inferenceYear = 0;
  private inferenceYearStartMs = Number.POSITIVE_INFINITY;
  private inferenceYearEndMs = Number.NEGATIVE_INFINITY;

  constructor(timeZone: string) {
    this.zone = new ZoneClock(timeZone);
  }

  parse(line: string, notAfterMs?: number): bigint | undefined {
    const match = this.match;
    const length = line.length;
    const lead = leadIndex(line);
    if (match.glog(line, lead)) return this.finish(notAfterMs);
    let previousClass = 0;
    let i = 0;
    while (i < length) {
      const cls = classOf(line.charCodeAt(i));
      if ((cls & WORD) === 0) {
        previousClass = cls;
        i++;
        continue;
      }
      const start = i;
      if (cls & DIGIT && (previousClass & BLOCKS_DIGIT) === 0 && match.digitStart(line, i, i === lead)) {
        return this.finish(notAfterMs);
      }
      // Skip the rest of the word: nothing starts inside one.
      const wordClass = cls & DIGIT;
      i++;
      while (i < length) {
        const next = classOf(line.charCodeAt(i));
        if ((next & WORD) === 0 || (next & DIGIT) !== wordClass) break;
        i++;
      }
      // A month or weekday name has 3 to 9 letters and is followed by a space or a comma.
      const after = line.charCodeAt(i);
      if (cls & NAME_START && (previousClass & WORD) === 0 && i - start >= 3 && i - start <= 9 && (after === 32 || after === 44) && match.nameStart(line, start)) {
        return this.finish(notAfterMs);
      }
      previousClass = WORD | BLOCKS_DIGIT;
    }
    return undefined;
  }

  private finish(notAfterMs: number | undefined): bigint {
    const match = this.match;
    if (!Number.isNaN(match.epochSeconds)) {
      return BigInt(match.epochSeconds) * 1_000_000_000n + BigInt(match.nanos);
    }
    if (!match.yearKnown) this.inferYear(notAfterMs !== undefined && Number.isFinite(notAfterMs) ? notAfterMs : Date.now());
    const minuteMs = this.utcMinuteMs();
    const minute = Math.floor(minuteMs / MS_PER_MINUTE);
    // Old local mean time offsets have seconds (Oslo until 1895: +00:53:28), so the local
    // minute need not start on a UTC minute: carry the rest into the within-minute part.
    const withinMinuteNs = (minuteMs - minute * MS_PER_MINUTE) * 1e6 + match.second * 1e9 + match.nanos;
    if (minute !== this.lastMinute) {
      this.lastMinute = minute;
      this.lastMinuteNs = BigInt(minute) * NS_PER_MINUTE;
    } else if (withinMinuteNs === this.lastWithinMinuteNs) {
      return this.lastResult;
    }
    this.lastWithinMinuteNs = withinMinuteNs;
    this.lastResult = this.lastMinuteNs + BigInt(withinMinuteNs);
    return this.lastResult;
  }

  /** UTC ms of the start of the match's minute (the last one's again when the fields are the same). */
  private utcMinuteMs(): number {
    const match = this.match;
    const key = this.minuteKey;
    const offset = match.offsetMinutes;
    // NaN (a naive time) is stored as Infinity, which no offset in minutes can be.
    const offsetKey = Number.isNaN(offset) ? Number.POSITIVE_INFINITY : offset;
    if (key[0] === match.minute && key[1] === match.hour && key[2] === match.day && key[3] === match.month && key[4] === match.year && key[5] === offsetKey) {
      return this.minuteKeyMs;
    }
    const localMs = (daysFromCivil(match.year, match.month, match.day) * 1440 + match.hour * 60 + match.minute) * MS_PER_MINUTE;
    const utcMs = Number.isNaN(offset) ? this.zone.toUtcMs(localMs) : localMs - offset * MS_PER_MINUTE;
    key[0] = match.minute;
    key[1] = match.hour;
    key[2] = match.day;
    key[3] = match.month;
    key[4] = match.year;
    key[5] = offsetKey;
    this.minuteKeyMs = utcMs;
    return utcMs;
  }

  /** The latest year that puts the match at or before `notAfterMs` plus the tolerance. */
  private inferYear(notAfterMs: number): void {
    const match = this.match;
    const limitMs = notAfterMs + YEAR_INFERENCE_TOLERANCE_MS;
    // Local time runs at most 14 h ahead of UTC, so this year is never too early.
    const aheadMs = limitMs + 14 * 3_600_000;
    if (aheadMs < this.inferenceYearStartMs || aheadMs >= this.inferenceYearEndMs) {
      this.inferenceYear = utcYearOf(aheadMs);
      this.inferenceYearStartMs = daysFromCivil(this.inferenceYear, 1, 1) * MS_PER_DAY;
      this.inferenceYearEndMs = daysFromCivil(this.inferenceYear + 1, 1, 1) * MS_PER_DAY;
    }
    const withinMinuteMs = match.second * 1000 + match.nanos / 1e6;
    // Eight years back always reaches a leap year, for Feb 29.
    for (let year = this.inferenceYear; year > this.inferenceYear - 9; year--) {
      if (match.month === 2 && match.day === 29 && !isLeapYear(year)) continue;
      match.year = year;
      if (this.utcMinuteMs() + withinMinuteMs <= limitMs) return;
    }
  }
}

export function createTimestampParser(options: TimestampParserOptions = {}): TimestampParser {
  return new Finder(resolveTimeZone(options.timezone));
}
