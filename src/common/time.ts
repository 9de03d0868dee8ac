/** Time helpers shared by agent, server and CLI. Event times are nanoseconds since the epoch (bigint). */

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

export function msToNs(ms: number): bigint {
  const whole = Math.floor(ms);
  return BigInt(whole) * NS_PER_MS + BigInt(Math.round((ms - whole) * 1e6));
}

export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}

/**
 * The last time the two writers below split, into whole seconds (rounded down) and the
 * nanoseconds past them: a /logs entry writes each of its line's time both ways, and bigint
 * division was most of their cost.
 */
let splitNs: bigint | undefined;
let splitSeconds = 0n;
let splitRem = 0;

function split(ns: bigint): void {
  if (ns === splitNs) return;
  // Rounded down, so a time before 1970 keeps its second: -1 ns is 23:59:59.999999999.
  let rem = ns % NS_PER_S;
  if (rem < 0n) rem += NS_PER_S;
  splitSeconds = (ns - rem) / NS_PER_S;
  splitRem = Number(rem);
  splitNs = ns;
}

/** `.0629189` for 62918900 ns: up to 9 digits, trailing zeros dropped; '' for none. */
function fractionText(rem: number): string {
  // A /logs entry writes its line's time twice (epoch seconds and RFC 3339): the second asks
  // for the same fraction.
  if (rem === fractionRem) return fractionString;
  let text: string;
  if (rem % 1_000_000 === 0) {
    // Whole milliseconds, as most log formats give them: one of a thousand texts, made once.
    text = (msFractions ??= Array.from({ length: 1000 }, (_, ms) => spelt(ms * 1_000_000)))[rem / 1_000_000]!;
  } else {
    text = spelt(rem);
  }
  fractionRem = rem;
  fractionString = text;
  return text;
}

function spelt(rem: number): string {
  if (rem === 0) return '';
  let digits = 9;
  while (rem % 10 === 0) {
    rem /= 10;
    digits--;
  }
  return '.' + String(rem).padStart(digits, '0');
}

let fractionRem = -1;
let fractionString = '';
let msFractions: string[] | undefined;

/** The last whole second each writer wrote, and its text: a page of lines mostly shares its seconds. */
let epochSeconds: bigint | undefined;
let epochText = '';
let rfcSeconds: bigint | undefined;
let rfcText = '';

/** `1639508052062918900n` -> `"1639508052.0629189"`; whole seconds keep one decimal: `"1639508052.0"`. */
export function nsToEpochSecondsString(ns: bigint): string {
  if (ns < 0n) {
    // Before 1970: the sign, then the distance from it (not the second rounded down).
    return '-' + nsToEpochSecondsString(-ns);
  }
  split(ns);
  if (splitSeconds !== epochSeconds) {
    epochText = splitSeconds.toString();
    epochSeconds = splitSeconds;
  }
  return splitRem === 0 ? `${epochText}.0` : epochText + fractionText(splitRem);
}

/** RFC 3339 in UTC with as many fraction digits as needed (up to 9). */
export function nsToRfc3339(ns: bigint): string {
  split(ns);
  if (splitSeconds !== rfcSeconds) {
    rfcText = new Date(Number(splitSeconds) * 1000).toISOString().slice(0, 19);
    rfcSeconds = splitSeconds;
  }
  return `${rfcText}${fractionText(splitRem)}Z`;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Parses RFC 3339 (zone required unless `assumeUtc`) to ns; undefined if malformed. */
export function parseRfc3339(text: string, assumeUtc = false): bigint | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (!zone && !assumeUtc) return undefined;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return undefined;
  let offsetMin = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const fracNs = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * NS_PER_MS + fracNs;
}

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)$/;
const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
  w: 7 * 86400e9,
};

/** `"30d"`, `"15m"`, `"500ms"` -> ns; undefined if malformed. Compound forms (`1h30m`) are accepted. */
export function parseDuration(text: string): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  let total = 0n;
  const parts = trimmed.match(/\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w)/g);
  if (!parts || parts.join('') !== trimmed) return undefined;
  for (const part of parts) {
    const m = DURATION.exec(part);
    if (!m) return undefined;
    const unit = UNIT_NS[m[2] as string] as number;
    total += BigInt(Math.round(Number(m[1]) * unit));
  }
  return total;
}

/**
 * A point in time for `since`/`until`: RFC 3339, a relative duration meaning "that long ago"
 * (`15m`, `2h`, `7d`), or `now`. Undefined if malformed.
 */
export function parseTimePoint(text: string, now: bigint = nowNs()): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  const relative = parseDuration(trimmed);
  if (relative !== undefined) return now - relative;
  if (/^\d{1,19}$/.test(trimmed)) {
    // Bare epoch digits: seconds (up to 10 digits, so `0` is the epoch itself), ms (11 to 13),
    // us (14 to 16) or ns (17 to 19).
    const digits = trimmed.length;
    const scale = digits <= 10 ? 1_000_000_000n : digits <= 13 ? 1_000_000n : digits <= 16 ? 1_000n : 1n;
    return BigInt(trimmed) * scale;
  }
  return parseRfc3339(trimmed);
}
