/** Calendar arithmetic and name tables for the timestamp finder: integer maths only, no Date objects. */

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

/** Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The Gregorian year holding `ms` (UTC), without allocating a Date. */
export function utcYearOf(ms: number): number {
  const days = Math.floor(ms / MS_PER_DAY) + 719_468;
  const era = Math.floor(days / 146_097);
  const dayOfEra = days - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  return yearOfEra + era * 400 + (monthIndex >= 10 ? 1 : 0);
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1-12) of `year`; for a year-less date pass a leap year so Feb 29 stays possible. */
export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month] ?? 0);
}

/** POSIX strptime's rule for `%y`: 69-99 are 1969-1999, 00-68 are 2000-2068. */
export function fullYearOfTwoDigits(twoDigits: number): number {
  return twoDigits >= 69 ? 1900 + twoDigits : 2000 + twoDigits;
}

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function key3(line: string, i: number): number {
  // `| 0x20` folds ASCII upper case to lower; non-letters give keys no name has.
  return ((line.charCodeAt(i) | 0x20) << 16) | ((line.charCodeAt(i + 1) | 0x20) << 8) | (line.charCodeAt(i + 2) | 0x20);
}

const MONTH_KEYS = Int32Array.from(MONTH_NAMES, (name) => key3(name, 0));
const WEEKDAY_KEYS = Int32Array.from(WEEKDAY_NAMES, (name) => key3(name, 0));

/**
 * Index of `key` in `keys`, or -1. A linear scan of at most twelve ints beats a Map lookup
 * here, and most words are rejected by the first letter already.
 */
function indexOfKey(keys: Int32Array, key: number): number {
  for (let index = 0; index < keys.length; index++) if (keys[index] === key) return index;
  return -1;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Length of the abbreviated (`Dec`) or full (`December`) name at `i` when the name ends
 * there (the next character is not a letter), else 0.
 */
function nameLength(line: string, i: number, full: string): number {
  if (!isAsciiLetter(line.charCodeAt(i + 3))) return 3;
  let k = 3;
  while (k < full.length && (line.charCodeAt(i + k) | 0x20) === full.charCodeAt(k)) k++;
  return k === full.length && !isAsciiLetter(line.charCodeAt(i + k)) ? k : 0;
}

/** Month name at `i`, case-insensitive: `(month << 4) | length`, or 0 when there is none. */
export function monthNameAt(line: string, i: number): number {
  const index = indexOfKey(MONTH_KEYS, key3(line, i));
  if (index < 0) return 0;
  const length = nameLength(line, i, MONTH_NAMES[index] as string);
  return length === 0 ? 0 : ((index + 1) << 4) | length;
}

/** Length of the weekday name (`Tue`, `Tuesday`) at `i`, or 0. */
export function weekdayNameLength(line: string, i: number): number {
  const index = indexOfKey(WEEKDAY_KEYS, key3(line, i));
  return index < 0 ? 0 : nameLength(line, i, WEEKDAY_NAMES[index] as string);
}
