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
import { ANCHOR_KEY, ANCHOR_LEAD, ANCHOR_UNKNOWN, ANCHOR_WALK, FileLayout, RELEARN_AFTER } from './timestamps/layout.js';
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

/** Keys whose value is a time, so a plain number after them is one: `"ts":1639508052.123`, `# Time: 211214 7:59:50`. */
const TIME_KEYS = new Set(['ts', 'time', 'timestamp', '@timestamp', 'date', 'datetime', 'epoch', 'unixtime', 'logtime', 'eventtime']);

function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 64 || c === 46 || c === 45; // _ @ . -
}

/**
 * The key-value key right before `i`, with its quotes and separator (`"time":"`, `ts=`,
 * `Time: `), or '' when the text before `i` is no key: a key needs a `:` or `=`.
 */
function keyBefore(line: string, i: number): string {
  let k = i - 1;
  let separator = false;
  // After the key: a quote, `:` or `=`, blanks, an opening quote (at most four characters).
  while (k >= 0 && i - k <= 4) {
    const c = line.charCodeAt(k);
    if (c === 58 || c === 61) separator = true;
    else if (c !== 34 && c !== 39 && c !== 32) break;
    k--;
  }
  if (!separator) return '';
  const keyEnd = k + 1;
  while (k >= 0 && keyEnd - k <= 24 && isKeyChar(line.charCodeAt(k))) k--;
  if (keyEnd - k - 1 < 1 || keyEnd - k > 24) return '';
  if (line.charCodeAt(k) === 34 || line.charCodeAt(k) === 39) k--; // the key's opening quote
  return line.slice(k + 1, i);
}

/** Whether a time key stands right before `i` (only asked of plain numbers, so rarely). */
function followsTimeKey(line: string, i: number): boolean {
  const key = keyBefore(line, i);
  return key !== '' && isTimeKey(key);
}

/** Whether keyBefore()'s text names a time: `"ts":`, `Time: `, `@timestamp=`. */
function isTimeKey(key: string): boolean {
  let a = 0;
  while (!isKeyChar(key.charCodeAt(a))) a++;
  let b = a;
  while (isKeyChar(key.charCodeAt(b))) b++;
  return TIME_KEYS.has(key.slice(a, b).toLowerCase());
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
    if (layout !== undefined && (layout.anchor === ANCHOR_LEAD || layout.anchor === ANCHOR_KEY)) {
      let at = lead;
      if (layout.anchor === ANCHOR_KEY) {
        at = line.indexOf(layout.key);
        if (at >= 0) at += layout.key.length;
      }
      if (at >= 0 && this.tryAt(line, at)) {
        const found = this.finish(notAfterMs);
        if (found !== undefined) {
          layout.misses = 0;
          if (match.evidence !== 0) layout.order = match.evidence;
          return found;
        }
      }
    }
    if (match.glog(line, lead)) {
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
      if (cls & DIGIT && (previousClass & BLOCKS_DIGIT) === 0 && match.digitStart(line, i, this.bareAt(line, i))) {
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
    if (heldBack === undefined) return undefined;
    match.bare = heldBare;
    match.evidence = heldEvidence;
    return this.learned(layout, 0, heldKey, heldBack);
  }

  /** Whether a plain number may stand at `i`: leading the line (see bareLeads) or after a time key. */
  private bareAt(line: string, i: number): boolean {
    if (i === this.lead && this.bareLeads) return true;
    // Only plain-number shapes ask: the digit run decides whether to look back for a key.
    let j = i;
    while (isDigit(line.charCodeAt(j))) j++;
    const digits = j - i;
    return (digits === 6 || digits === 10 || digits === 13 || digits === 16 || digits === 19) && followsTimeKey(line, i);
  }

  /** Tries the formats that can start at `i` (a learned anchor). */
  private tryAt(line: string, i: number): boolean {
    const c = line.charCodeAt(i);
    if (isDigit(c)) {
      const before = line.charCodeAt(i - 1);
      return (i === 0 || (classOf(before) & BLOCKS_DIGIT) === 0) && this.match.digitStart(line, i, this.bareAt(line, i));
    }
    if (i === this.lead && this.match.glog(line, i)) return true;
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
