/**
 * Finds the time a log line was written (SPEC.md "What a line becomes"): the earliest
 * well-formed timestamp anywhere in the line, in any of the formats docs/timestamps.md
 * lists. Built for the agent's hot path: one pass over the line's char codes, no
 * allocation but the returned bigint, and the zone offset and the epoch minute cached
 * from the previous line.
 */
import { daysFromCivil, isLeapYear, MS_PER_DAY, MS_PER_MINUTE, utcYearOf } from './timestamps/calendar.js';
import { INT64_MAX } from '../protocol/names.js';
import { isDigit, isLetter } from './timestamps/fields.js';
import { isTimeKey, keyBefore } from './timestamps/keys.js';
import { ANCHOR_COLUMN, ANCHOR_KEY, ANCHOR_LEAD, ANCHOR_UNKNOWN, ANCHOR_WALK, COLUMN_AFTER, COLUMN_SEARCH_LINES, FileLayout, RELEARN_AFTER } from './timestamps/layout.js';
import { TimestampMatch } from './timestamps/matchers.js';
import { resolveTimeZone, ZoneClock } from './timestamps/zone.js';

export interface TimestampParserOptions {
  /** IANA zone naive times are read in, e.g. 'Europe/Oslo'; default: process.env.TZ, else the system zone. */
  timezone?: string;
}

export interface TimestampParser {
  /**
   * ns since the epoch, or undefined when the line holds no timestamp the finder takes
   * (none at all, or only ones outside the storable range, or plain numbers outside the
   * plausibility window). A year-less time gets the latest year that does not put it
   * after `notAfterMs` (default now) plus a day. `layout` is what the finder learned of
   * the line's file (one per file, see FileLayout): give it for every line of the file.
   */
  parse(line: string, notAfterMs?: number, layout?: FileLayout): bigint | undefined;
}

export { FileLayout };

/** Clock skew allowed when inferring a year: a line may be up to a day "in the future". */
const YEAR_INFERENCE_TOLERANCE_MS = MS_PER_DAY;
const NS_PER_MINUTE = 60_000_000_000n;
const INT64_MIN = -INT64_MAX - 1n;
/** Whole seconds of the storable range (signed 64-bit ns): 1677-09-21 .. 2262-04-11. */
const MAX_EPOCH_SECONDS = Number(INT64_MAX / 1_000_000_000n);
/** Within this many ms of 1970 every minute is storable: the exact check is for the edges. */
const SAFE_MS = 9.2e12;
/** Plain-number times (epochs, `yyMMdd`) before this are not taken: see docs/timestamps.md. */
const BARE_NOT_BEFORE_MS = Date.UTC(2000, 0, 1);

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

/** Start of the blank-separated field number `column` (0-based), or -1. */
function fieldStart(line: string, column: number): number {
  let i = 0;
  const length = line.length;
  for (let n = 0; ; n++) {
    while (i < length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= length) return -1;
    if (n === column) return i;
    while (i < length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
  }
}

/** A field at `i` that is only an epoch: 10 or 13 digits, maybe a fraction, then a blank or the end. */
function isEpochField(line: string, i: number): boolean {
  let j = i;
  while (isDigit(line.charCodeAt(j))) j++;
  if (j - i !== 10 && j - i !== 13) return false;
  if (line.charCodeAt(j) === 46) { // '.'
    j++;
    while (isDigit(line.charCodeAt(j))) j++;
  }
  const c = line.charCodeAt(j);
  return j === line.length || c === 32 || c === 9;
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
  // Per call: whether a plain number may lead the line (see bareAt).
  private bareLeads = true;
  private lead = 0;

  constructor(timeZone: string) {
    this.zone = new ZoneClock(timeZone);
  }

  parse(line: string, notAfterMs?: number, layout?: FileLayout): bigint | undefined {
    const match = this.match;
    match.order = layout === undefined ? 0 : layout.order;
    match.dateOnlyMonth = 0;
    const lead = leadIndex(line);
    this.lead = lead;
    // Plain numbers lead the lines of a file only if its first timed lines led with them.
    this.bareLeads = layout === undefined || layout.anchor === ANCHOR_UNKNOWN || (layout.anchor === ANCHOR_LEAD && layout.bare);
    if (layout !== undefined && layout.anchor !== ANCHOR_UNKNOWN && layout.anchor !== ANCHOR_WALK) {
      let at = lead;
      if (layout.anchor === ANCHOR_KEY) {
        at = line.indexOf(layout.key);
        if (at >= 0) at += layout.key.length;
      } else if (layout.anchor === ANCHOR_COLUMN) {
        at = fieldStart(line, layout.column);
        this.bareLeads = at >= 0 && isEpochField(line, at);
        if (!this.bareLeads) at = -1;
        this.lead = at;
      }
      if (at >= 0 && this.tryAt(line, at)) {
        const found = this.finish(notAfterMs);
        if (found !== undefined) {
          layout.misses = 0;
          if (match.evidence !== 0) layout.order = match.evidence;
          return found;
        }
      }
      if (layout.anchor === ANCHOR_COLUMN) {
        this.lead = lead;
        this.bareLeads = false;
      }
    }
    if (match.leadStamp(line, lead)) {
      const found = this.finish(notAfterMs);
      if (found !== undefined) return this.learned(layout, lead, '', found);
    }
    // A time after a key that names no time (`"query":"2020-01-01 00:00:00"`), or anywhere
    // in a JSON object but after a time key, is kept back while the walk looks for one
    // after a time key (`"time":"...`).
    const json = line.charCodeAt(lead) === 123; // '{'

    let heldBack: bigint | undefined;
    let heldKey = '';
    let heldBare = false;
    let heldEvidence = 0;
    let previousClass = 0;
    let i = 0;
    const length = line.length;
    while (i < length) {
      const cls = classOf(line.charCodeAt(i));
      if ((cls & WORD) === 0) {
        previousClass = cls;
        i++;
        continue;
      }
      const start = i;
      let found: bigint | undefined;
      if (cls & DIGIT && (previousClass & BLOCKS_DIGIT) === 0 && match.digitStart(line, i, i === lead && this.bareLeads)) {
        found = this.finish(notAfterMs);
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
      if (found === undefined && cls & NAME_START && (previousClass & WORD) === 0 && i - start >= 3 && i - start <= 9 && (after === 32 || after === 44) && match.nameStart(line, start)) {
        found = this.finish(notAfterMs);
      }
      previousClass = WORD | BLOCKS_DIGIT;
      if (found === undefined) continue;
      const key = start === lead ? '' : keyBefore(line, start);
      if (key === '' ? json && start !== lead : !isTimeKey(key)) {
        if (heldBack === undefined) {
          heldBack = found;
          heldKey = key;
          heldBare = match.bare;
          heldEvidence = match.evidence;
        }
        continue;
      }
      return this.learned(layout, start === lead ? -1 : start, key, found);
    }
    if (heldBack === undefined) {
      if (layout !== undefined && layout.anchor === ANCHOR_UNKNOWN && layout.searchedLines < COLUMN_SEARCH_LINES) {
        return this.learnColumn(line, notAfterMs, layout);
      }
      return undefined;
    }
    match.bare = heldBare;
    match.evidence = heldEvidence;
    return this.learned(layout, 0, heldKey, heldBack);
  }

  /**
   * On a line without a time at the start of a file: an epoch standing alone in the same
   * blank-separated column of COLUMN_AFTER such lines in a row is the file's time
   * (`134681 node-246 unix.hw state_change 1077804742 1 Component ...`). Returns the
   * time of the line that settles it, else undefined.
   */
  private learnColumn(line: string, notAfterMs: number | undefined, layout: FileLayout): bigint | undefined {
    layout.searchedLines++;
    let column = 0;
    let i = 0;
    const length = line.length;
    while (i < length) {
      while (i < length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
      if (i >= length) break;
      if (isEpochField(line, i)) {
        const saved = this.lead;
        this.lead = i;
        this.bareLeads = true;
        const found = this.match.digitStart(line, i, true) ? this.finish(notAfterMs) : undefined;
        this.lead = saved;
        if (found !== undefined) {
          if (layout.candidateColumn === column) layout.candidateLines++;
          else {
            layout.candidateColumn = column;
            layout.candidateLines = 1;
          }
          if (layout.candidateLines < COLUMN_AFTER) return undefined;
          layout.anchor = ANCHOR_COLUMN;
          layout.column = column;
          layout.bare = true;
          return found;
        }
      }
      while (i < length && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
      column++;
    }
    layout.candidateLines = 0;
    return undefined;
  }

  /** Tries the formats that can start at `i` (a learned anchor). */
  private tryAt(line: string, i: number): boolean {
    const c = line.charCodeAt(i);
    if (isDigit(c)) {
      const before = line.charCodeAt(i - 1);
      return (i === 0 || (classOf(before) & BLOCKS_DIGIT) === 0) && this.match.digitStart(line, i, i === this.lead && this.bareLeads);
    }
    if (i === this.lead && this.match.leadStamp(line, i)) return true;
    return isLetter(c) && (i === 0 || (classOf(line.charCodeAt(i - 1)) & WORD) === 0) && this.match.nameStart(line, i);
  }

  /**
   * Learns the file's layout from a time the walk found (`at` -1: at the lead; else
   * after `key`, or anywhere when the key is ''), and returns it.
   */
  private learned(layout: FileLayout | undefined, at: number, key: string, found: bigint): bigint {
    if (layout === undefined) return found;
    const match = this.match;
    if (match.evidence !== 0) layout.order = match.evidence;
    const anchor = at < 0 ? ANCHOR_LEAD : key === '' ? ANCHOR_WALK : ANCHOR_KEY;
    if (layout.anchor === anchor && layout.key === key && layout.bare === match.bare) {
      layout.misses = 0;
    } else if (layout.anchor === ANCHOR_UNKNOWN || ++layout.misses >= RELEARN_AFTER) {
      layout.anchor = anchor;
      layout.key = key;
      layout.bare = match.bare;
      layout.misses = 0;
    }
    return found;
  }

  /** The match as ns, or undefined when it cannot be stored or (a plain number) is implausible. */
  private finish(notAfterMs: number | undefined): bigint | undefined {
    const match = this.match;
    if (!Number.isNaN(match.epochSeconds)) {
      const seconds = match.epochSeconds;
      if (seconds > MAX_EPOCH_SECONDS || (match.bare && !this.plausible(seconds * 1000, notAfterMs))) return undefined;
      return BigInt(seconds) * 1_000_000_000n + BigInt(match.nanos);
    }
    if (!match.yearKnown) {
      if (match.dateOnlyMonth === match.month && match.dateOnlyDay === match.day) {
        match.year = match.dateOnlyYear;
        match.yearKnown = true;
      } else {
        this.inferYear(notAfterMs !== undefined && Number.isFinite(notAfterMs) ? notAfterMs : Date.now());
      }
    }
    const minuteMs = this.utcMinuteMs();
    if (match.bare && !this.plausible(minuteMs, notAfterMs)) return undefined;
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
    const result = this.lastMinuteNs + BigInt(withinMinuteNs);
    // Years 1000-9999 reach past the storable range at both ends: 0001-01-01 is no time.
    if ((minuteMs > SAFE_MS || minuteMs < -SAFE_MS) && (result > INT64_MAX || result < INT64_MIN)) {
      this.lastMinute = Number.NaN;
      return undefined;
    }
    this.lastWithinMinuteNs = withinMinuteNs;
    this.lastResult = result;
    return result;
  }

  /** Plain-number times count from 2000 to a day past `notAfterMs` (default now). */
  private plausible(ms: number, notAfterMs: number | undefined): boolean {
    const limit = notAfterMs !== undefined && Number.isFinite(notAfterMs) ? notAfterMs : Date.now();
    return ms >= BARE_NOT_BEFORE_MS && ms <= limit + YEAR_INFERENCE_TOLERANCE_MS;
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
