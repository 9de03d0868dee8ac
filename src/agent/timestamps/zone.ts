/**
 * Reads naive wall-clock times in an IANA zone. Intl.DateTimeFormat is slow (microseconds a
 * call), so the offset is resolved once per local hour and cached: log lines come in time
 * order, so nearly every line hits the last hour.
 */
import { readlinkSync } from 'node:fs';
import { daysFromCivil, MS_PER_DAY, MS_PER_HOUR } from './calendar.js';

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'GMT', 'Etc/GMT', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'Etc/Universal', 'Etc/Zulu', 'Universal', 'Zulu', 'Etc/Greenwich', 'Greenwich', 'GMT0', 'GMT+0', 'GMT-0']);
const MAX_CACHED_HOURS = 4096;

function canonicalZone(name: string): string | undefined {
  // UTC needs no Intl: its first use loads ICU's zone data, about 8 MiB of an agent's memory.
  if (UTC_NAMES.has(name)) return 'UTC';
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * The zone naive times are read in: the requested IANA name (an unknown one is a config
 * error and throws), else `TZ` when it names a zone, else the system zone.
 */
export function resolveTimeZone(requested?: string): string {
  if (requested !== undefined && requested !== '') {
    const zone = canonicalZone(requested);
    if (zone === undefined) {
      throw new RangeError(`Unknown timezone '${requested}': use an IANA name such as 'Europe/Oslo' or 'UTC'.`);
    }
    return zone;
  }
  const fromEnv = process.env.TZ;
  const envZone = fromEnv ? canonicalZone(fromEnv.replace(/^:/, '')) : undefined;
  return envZone ?? systemZone();
}

/** The system zone: /etc/localtime's link target where it names one, else what Intl says. */
function systemZone(): string {
  try {
    const target = readlinkSync('/etc/localtime');
    const at = target.indexOf('zoneinfo/');
    if (at >= 0 && UTC_NAMES.has(target.slice(at + 'zoneinfo/'.length))) return 'UTC';
  } catch {
    // Not a link (or no such file): ask Intl.
  }
  return new Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

export class ZoneClock {
  readonly timeZone: string;
  private readonly fixed: boolean;
  private formatterInstance: Intl.DateTimeFormat | undefined;
  private lastHourKey = Number.NaN;
  private lastOffsetMs = 0;
  private readonly offsetByHour = new Map<number, number>();

  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.fixed = UTC_NAMES.has(timeZone);
  }

  /** Made on first need, so a UTC agent never loads ICU's zone data. */
  private get formatter(): Intl.DateTimeFormat {
    this.formatterInstance ??= new Intl.DateTimeFormat('en-US', {
      timeZone: this.timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    return this.formatterInstance;
  }

  /**
   * The UTC instant of a local wall-clock time given as ms since 1970-01-01 "local". In a
   * DST overlap the earlier instant wins; in a gap the time is read with the offset before
   * it (so 02:30 on a spring-forward night becomes 03:30), as Temporal's 'compatible' does.
   */
  toUtcMs(localMs: number): number {
    if (this.fixed) return localMs;
    const hourKey = Math.floor(localMs / MS_PER_HOUR);
    if (hourKey !== this.lastHourKey) {
      let offset = this.offsetByHour.get(hourKey);
      if (offset === undefined) {
        offset = this.resolveOffset(hourKey * MS_PER_HOUR);
        if (this.offsetByHour.size >= MAX_CACHED_HOURS) this.offsetByHour.clear();
        this.offsetByHour.set(hourKey, offset);
      }
      this.lastHourKey = hourKey;
      this.lastOffsetMs = offset;
    }
    return localMs - this.lastOffsetMs;
  }

  private resolveOffset(localMs: number): number {
    // Assumes at most one transition within a day either side, true of every real zone.
    const before = this.offsetAt(localMs - MS_PER_DAY);
    const after = this.offsetAt(localMs + MS_PER_DAY);
    if (before === after) return before;
    const beforeFits = this.offsetAt(localMs - before) === before;
    const afterFits = this.offsetAt(localMs - after) === after;
    if (beforeFits && afterFits) return Math.max(before, after); // overlap: the earlier instant
    if (afterFits) return after;
    return before; // fits, or a gap
  }

  /** Offset (local minus UTC, ms) in force at a UTC instant. */
  offsetAt(utcMs: number): number {
    const wholeSecond = utcMs - (((utcMs % 1000) + 1000) % 1000);
    let year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    for (const part of this.formatter.formatToParts(wholeSecond)) {
      switch (part.type) {
        case 'year': year = Number(part.value); break;
        case 'month': month = Number(part.value); break;
        case 'day': day = Number(part.value); break;
        case 'hour': hour = Number(part.value); break;
        case 'minute': minute = Number(part.value); break;
        case 'second': second = Number(part.value); break;
        default: break;
      }
    }
    const localAsUtc = daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000;
    return localAsUtc - wholeSecond;
  }
}
