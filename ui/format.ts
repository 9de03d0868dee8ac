/**
 * Display helpers: times, ages, counts and sizes. Every time on the page has one format,
 * `YYYY-MM-DD HH:mm:ss.SSS` (shortened from the right where less is needed), in one zone:
 * the browser's, or UTC when the user switches to it (remembered in localStorage).
 */

export type Zone = 'local' | 'utc';

const ZONE_KEY = 'daniel.zone';
const zoneListeners = new Set<() => void>();
let zone: Zone = readZone();

function readZone(): Zone {
  try {
    return globalThis.localStorage?.getItem(ZONE_KEY) === 'utc' ? 'utc' : 'local';
  } catch {
    return 'local';
  }
}

export function getZone(): Zone {
  return zone;
}

export function setZone(next: Zone): void {
  zone = next;
  try {
    if (next === 'utc') localStorage.setItem(ZONE_KEY, 'utc');
    else localStorage.removeItem(ZONE_KEY);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  for (const listener of zoneListeners) listener();
}

export function onZoneChange(listener: () => void): () => void {
  zoneListeners.add(listener);
  return () => zoneListeners.delete(listener);
}

/** The zone's name for its label: `UTC`, or the browser's zone such as `Europe/Oslo`. */
export function zoneName(which: Zone = zone): string {
  if (which === 'utc') return 'UTC';
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  ms: number;
}

function partsOf(date: Date): Parts {
  return zone === 'utc'
    ? { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hours: date.getUTCHours(), minutes: date.getUTCMinutes(), seconds: date.getUTCSeconds(), ms: date.getUTCMilliseconds() }
    : { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate(), hours: date.getHours(), minutes: date.getMinutes(), seconds: date.getSeconds(), ms: date.getMilliseconds() };
}

/** How much of the time to show: down to the millisecond, the second, or the minute. */
export type Precision = 'ms' | 's' | 'min';

/** `2021-12-14T18:54:12.0629189Z` -> `2021-12-14 19:54:12.062` in the chosen zone. */
export function formatTime(time: string | number, precision: Precision = 'ms'): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  const p = partsOf(date);
  const minutes = `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hours)}:${pad(p.minutes)}`;
  if (precision === 'min') return minutes;
  if (precision === 's') return `${minutes}:${pad(p.seconds)}`;
  return `${minutes}:${pad(p.seconds)}.${pad(p.ms, 3)}`;
}

/** Reads back a shown time (`YYYY-MM-DD HH:mm:ss.SSS`, any tail left out) in the chosen zone; NaN when it is not one. */
export function parseShownTime(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(text.trim());
  if (!match) return NaN;
  const [year, month, day, hours, minutes, seconds] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const msPart = match[7] ? Number(match[7].padEnd(3, '0')) : 0;
  return zone === 'utc'
    ? Date.UTC(year, month - 1, day, hours, minutes, seconds, msPart)
    : new Date(year, month - 1, day, hours, minutes, seconds, msPart).getTime();
}

/** How long ago, coarsely: `12s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function formatAge(rfc3339: string | null, now = Date.now()): string {
  if (!rfc3339) return 'never';
  const ms = now - new Date(rfc3339).getTime();
  if (Number.isNaN(ms)) return rfc3339;
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

export function formatCount(count: number): string {
  if (count < 1000) return String(count);
  if (count < 1e6) return `${(count / 1e3).toFixed(count < 1e4 ? 1 : 0)}k`;
  if (count < 1e9) return `${(count / 1e6).toFixed(count < 1e7 ? 1 : 0)}M`;
  return `${(count / 1e9).toFixed(1)}G`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** An RFC 3339 time as the value of an `<input type="datetime-local">` (in the chosen zone). */
export function toLocalInput(rfc3339: string): string {
  const date = new Date(rfc3339);
  if (rfc3339 === '' || Number.isNaN(date.getTime())) return '';
  return formatTime(rfc3339, 's').replace(' ', 'T');
}

/** The value of a datetime-local input (in the chosen zone) as RFC 3339 UTC; '' when empty. */
export function fromLocalInput(value: string): string {
  if (value === '') return '';
  const ms = parseShownTime(value);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}
