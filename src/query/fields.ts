/**
 * Fields from a line's text, the same for every input: the members of a JSON object line
 * (nested objects flattened with `.`, arrays and null as JSON text), `key=value` pairs
 * anywhere in a line (logfmt, quoted values unquoted), and a normalised `level`.
 *
 * Bounded whatever the line holds: at most FIELD_LIMITS.maxFields fields, names and values
 * past their byte limits are not extracted (the text keeps them whole), nesting deeper than
 * maxDepth is kept as the JSON text of that member. Duplicate JSON keys: the last one wins,
 * as JSON.parse reads them. A number JSON cannot hold (`1e400`) is not extracted.
 */
import { sameFields } from '../segment/codec.js';

export type Fields = Record<string, string>;

export const FIELD_LIMITS = { maxFields: 64, maxNameBytes: 128, maxValueBytes: 1024, maxDepth: 8 } as const;

/** The levels every input is normalised to, least to most severe. */
export const LEVELS = ['trace', 'debug', 'info', 'notice', 'warn', 'error', 'critical', 'alert', 'emergency'] as const;
export type Level = (typeof LEVELS)[number];

// Without a prototype, as LEVEL_LETTERS: a level written `constructor` or `__proto__` names no level.
const LEVEL_WORDS: Record<string, Level> = Object.setPrototypeOf({
  trace: 'trace',
  trc: 'trace',
  finest: 'trace',
  finer: 'trace',
  debug: 'debug',
  dbg: 'debug',
  fine: 'debug',
  config: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'notice',
  warn: 'warn',
  warning: 'warn',
  wrn: 'warn',
  error: 'error',
  err: 'error',
  eror: 'error',
  severe: 'error',
  critical: 'critical',
  crit: 'critical',
  fatal: 'critical',
  alert: 'alert',
  emergency: 'emergency',
  emerg: 'emergency',
  panic: 'emergency',
  // Serilog's short names (`[INF]`, `[FTL]`, `[VRB]`), and Verbose: Serilog's and Android's lowest.
  ftl: 'critical',
  vrb: 'trace',
  verbose: 'trace',
  // MySQL's `[Note]`: informational (its syslog sink writes it as LOG_INFO).
  note: 'info',
}, null) as Record<string, Level>;

/** One-letter levels: glog/klog prefixes (`E1214`), `<E>`, `[W]`. */
const LEVEL_LETTERS: Record<string, Level> = Object.setPrototypeOf({ T: 'trace', D: 'debug', I: 'info', N: 'notice', W: 'warn', E: 'error', F: 'critical', C: 'critical' }, null) as Record<string, Level>;

/** Syslog and journald priorities 0..7. */
const PRIORITY_LEVELS: Level[] = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'];

/** Field names that say a level, in the order they are believed. */
const LEVEL_FIELDS = ['level', 'lvl', 'severity', 'loglevel', 'log_level', 'log.level', 'levelname', 'level_name', 'severity_text', '@l', 'priority'];

/** A level from a field's value: a word, a letter, a syslog priority, or a pino/bunyan number. */
export function normaliseLevel(value: string, fieldName = 'level'): Level | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const word = LEVEL_WORDS[text.toLowerCase()];
  if (word) return word;
  if (/^\d{1,2}$/.test(text)) {
    const n = Number(text);
    if (fieldName === 'priority' || fieldName === 'severity' || n <= 7) return PRIORITY_LEVELS[n];
    // pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
    return ({ 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'critical' } as Record<number, Level>)[n];
  }
  if (text.length === 1) return LEVEL_LETTERS[text.toUpperCase()];
  return undefined;
}

/** Whether `text` is at most `max` bytes of UTF-8 (without encoding it when its length decides). */
function fitsBytes(text: string, max: number): boolean {
  return text.length * 3 <= max || (text.length <= max && Buffer.byteLength(text, 'utf8') <= max);
}

class FieldSink {
  readonly fields: Fields = {};
  count = 0;

  add(name: string, value: string): void {
    if (this.count >= FIELD_LIMITS.maxFields) return;
    if (name === '' || !fitsBytes(name, FIELD_LIMITS.maxNameBytes) || !fitsBytes(value, FIELD_LIMITS.maxValueBytes)) return;
    if (!Object.prototype.hasOwnProperty.call(this.fields, name)) this.count++;
    this.fields[name] = value;
  }

  get full(): boolean {
    return this.count >= FIELD_LIMITS.maxFields;
  }
}

/**
 * Fields a source gave, within the same limits as extracted ones: names or values past their
 * byte limits and fields past the count are dropped (the line is kept). Undefined when none is left.
 */
export function boundFields(given: Readonly<Record<string, string>>): Fields | undefined {
  const sink = new FieldSink();
  for (const name in given) {
    if (!Object.prototype.hasOwnProperty.call(given, name)) continue;
    const value = given[name];
    if (typeof value === 'string') sink.add(name, value);
    if (sink.full) break;
  }
  return sink.count > 0 ? sink.fields : undefined;
}

/**
 * boundFields for the lines of one source in turn, which mostly carry the same fields (a
 * stream's labels, a resource's attributes): fields equal to the previous line's are bounded
 * once and copied. Each answer is a map of its own.
 */
export class FieldBounds {
  private given: Readonly<Record<string, string>> | undefined;
  private bound: Fields | undefined;

  of(given: Readonly<Record<string, string>>): Fields | undefined {
    if (this.given === undefined || !sameFields(given, this.given)) {
      this.given = given;
      this.bound = boundFields(given);
    }
    return this.bound === undefined ? undefined : { ...this.bound };
  }
}

function flatten(sink: FieldSink, prefix: string, value: unknown, depth: number): void {
  if (sink.full) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    if (depth >= FIELD_LIMITS.maxDepth) {
      sink.add(prefix, JSON.stringify(value));
      return;
    }
    for (const key of Object.keys(value)) {
      if (sink.full) return;
      flatten(sink, prefix === '' ? key : `${prefix}.${key}`, (value as Record<string, unknown>)[key], depth + 1);
    }
    return;
  }
  if (prefix === '') return;
  if (typeof value === 'string') sink.add(prefix, value);
  else if (typeof value === 'number') {
    if (Number.isFinite(value)) sink.add(prefix, String(value));
  } else if (typeof value === 'boolean') sink.add(prefix, String(value));
  else {
    const text = JSON.stringify(value);
    if (text !== undefined) sink.add(prefix, text);
  }
}

/** The members of a line that is one JSON object, or false when it is not one. */
function jsonFields(sink: FieldSink, line: string): boolean {
  let start = 0;
  while (start < line.length && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  if (line.charCodeAt(start) !== 0x7b) return false;
  let end = line.length - 1;
  while (end > start && (line.charCodeAt(end) === 0x20 || line.charCodeAt(end) === 0x09)) end--;
  if (line.charCodeAt(end) !== 0x7d) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  flatten(sink, '', parsed, 0);
  return true;
}

/** `A-Za-z_@`: what a key starts with. */
function isKeyStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 64;
}

/** `A-Za-z0-9_.@-/`: what a key is made of. */
function isKeyChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 45 && c <= 57) || c === 95 || c === 64; // 45..57 is `-./0-9`
}

/** What may stand before a key: `a=1 b=2`, `[a=1]`, `(a=1,b=2)`, `msg: a=1` (space, tab, `,;[({|`). */
function isKeyBoundary(c: number): boolean {
  return c === 32 || c === 9 || c === 44 || c === 59 || c === 91 || c === 40 || c === 123 || c === 124;
}

/** A quoted value from `open` (the opening quote) with `\x` read as `x`: the value and the index after the closing quote, or undefined when it never closes. */
function quotedValue(line: string, open: number): { value: string; next: number } | undefined {
  const close = line.indexOf('"', open + 1);
  const backslash = line.indexOf('\\', open + 1);
  // Most values hold no escape: one slice.
  if (backslash === -1 || (close !== -1 && backslash > close)) return close === -1 ? undefined : { value: line.slice(open + 1, close), next: close + 1 };
  let out = '';
  let k = open + 1;
  while (k < line.length) {
    const c = line.charCodeAt(k);
    if (c === 92 && k + 1 < line.length) {
      out += line[k + 1];
      k += 2;
      continue;
    }
    if (c === 34) return { value: out, next: k + 1 };
    out += line[k];
    k++;
  }
  return undefined;
}

/** Where pairs go: FieldSink (exported with logfmtFields for its test, which compares readings pair by pair). */
export interface PairSink {
  add(name: string, value: string): void;
  readonly full: boolean;
}

/**
 * `key=value` pairs anywhere in the line: logfmt, and what Splunk's automatic extraction finds.
 * Read by character codes and slices (it runs on every line a field term tests).
 */
export function logfmtFields(sink: PairSink, line: string): void {
  let i = line.indexOf('=');
  while (i > 0 && !sink.full) {
    // Walk back over the key.
    let keyStart = i;
    while (keyStart > 0 && isKeyChar(line.charCodeAt(keyStart - 1))) keyStart--;
    const boundary = keyStart === 0 || isKeyBoundary(line.charCodeAt(keyStart - 1));
    if (keyStart < i && isKeyStart(line.charCodeAt(keyStart)) && boundary && line.charCodeAt(i + 1) !== 61) {
      const name = line.slice(keyStart, i);
      let j = i + 1;
      let value: string;
      const quoted = line.charCodeAt(j) === 34 ? quotedValue(line, j) : undefined;
      if (quoted !== undefined) {
        value = quoted.value;
        j = quoted.next;
      } else if (line.charCodeAt(j) === 34) {
        // Unbalanced quote: the value is the next word, quote included.
        let k = j;
        while (k < line.length && line.charCodeAt(k) !== 32 && line.charCodeAt(k) !== 9) k++;
        value = line.slice(j, k);
        j = k;
      } else {
        let k = j;
        for (; k < line.length; k++) {
          const c = line.charCodeAt(k);
          if (c === 32 || c === 9 || c === 44) break;
        }
        value = line.slice(j, k);
        j = k;
      }
      sink.add(name, value);
      i = line.indexOf('=', j);
    } else {
      i = line.indexOf('=', i + 1);
    }
  }
}

const PLAIN_LEVEL = /(?:^|[\s[(<|:])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|SEVERE|ALERT|EMERG|EMERGENCY|PANIC)(?=$|[\s\]):>|,-])/;
/** `[warn]`, `<E>`, `[INF]` (Serilog), `[Note]` (MySQL), and Apache 2.4's `[core:error]`, `[ssl:trace3]`. */
const BRACKETED_LEVEL = /[[<(](?:[a-z_]*:)?(trace|debug|info|notice|warn|warning|error|err|crit|critical|fatal|severe|alert|emerg|emergency|panic|inf|wrn|dbg|trc|ftl|vrb|verbose|note|[TDIWEFC])[1-8]?[\]>)]/i;
const GLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}/;
/**
 * Shapes that say a level in their own way, tried at the line's start (each alternative
 * captures into its own group, see LEAD_LEVELS): a syslog/printk priority `<3>` (`<34>`:
 * facility * 8 + severity); Android logcat, `03-17 16:13:38.811  1702  2395 E Tag: …`
 * (threadtime) and `E/Tag( 1702): …` (brief, time); Redis, `1:M 14 Dec 2021 07:59:50.123 # …`;
 * and a line that opens with `Error:`, `warning:`, `panic:` (Node, Go, compilers, CLIs).
 */
const LEAD_LEVEL =
  /^(?:<(\d{1,3})>|(?:\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s+(?:\S+\s+)?\d+\s+\d+ ([VDIWEFA]) |(?:(?:\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} )?([VDIWEFA])\/[^\s(/]+\(\s*\d+\):|\d+:[XCSM] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.*#-]) |(error|warning|fatal|panic):\s)/i;
/** Android's priority letters (logcat): V verbose and A assert beside D I W E F. */
const ANDROID_LEVELS: Record<string, Level> = Object.setPrototypeOf({ V: 'trace', D: 'debug', I: 'info', W: 'warn', E: 'error', F: 'critical', A: 'critical' }, null) as Record<string, Level>;
/** Redis's marks: `.` debug, `-` verbose, `*` notice, `#` warning. */
const REDIS_LEVELS: Record<string, Level> = { '.': 'debug', '-': 'trace', '*': 'notice', '#': 'warn' };
/**
 * Later in the line: Monolog's `channel.LEVEL:` (Laravel's `production.ERROR:`), PostgreSQL's
 * `LOG:  ` (its informational messages; its other levels are words PLAIN_LEVEL knows), and
 * PHP's `PHP Warning:`, `PHP Fatal error:`.
 */
const NAMED_LEVEL = /[\w-]\.(DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY):|(?:^|\s)(LOG):\s|\bPHP (Fatal error|Parse error|Catchable fatal error|Warning|Notice|Deprecated|Strict Standards):/;
const PHP_LEVELS: Record<string, Level> = { 'Fatal error': 'critical', 'Parse error': 'error', 'Catchable fatal error': 'error', Warning: 'warn', Notice: 'notice', Deprecated: 'info', 'Strict Standards': 'info' };

function leadLevel(match: RegExpExecArray): Level | undefined {
  if (match[1] !== undefined) return PRIORITY_LEVELS[Number(match[1]) & 7];
  const android = match[2] ?? match[3];
  if (android !== undefined) return ANDROID_LEVELS[android.toUpperCase()];
  if (match[4] !== undefined) return REDIS_LEVELS[match[4]];
  return normaliseLevel(match[5] as string);
}

function namedLevel(match: RegExpExecArray): Level | undefined {
  if (match[1] !== undefined) return normaliseLevel(match[1]);
  if (match[2] !== undefined) return 'info';
  return PHP_LEVELS[match[3] as string];
}

/** Whether `text` holds `part` starting before `end`. */
function startsBefore(text: string, part: string, end: number): boolean {
  const at = text.indexOf(part);
  return at !== -1 && at < end;
}

/**
 * A level said near the start of a plain line: `ERROR`, `[warn]`, `<E>`, a glog/klog prefix,
 * a syslog priority, an Android or Redis line's mark, Monolog's `app.ERROR:`, PHP's and
 * PostgreSQL's own words. The first said wins. `everyShape` tries every shape even where it
 * cannot come first (the same answer; its test compares the two).
 */
export function plainLevel(line: string, everyShape = false): Level | undefined {
  const glog = GLOG.exec(line);
  if (glog) return LEVEL_LETTERS[glog[1] as string];
  const head = line.length > 120 ? line.slice(0, 120) : line;
  const lead = LEAD_LEVEL.exec(head);
  if (lead) {
    const level = leadLevel(lead);
    if (level) return level;
  }
  const word = PLAIN_LEVEL.exec(head);
  // The other two shapes win only by starting before the word: skipped when they cannot (a
  // bracketed level starts at its bracket; a named one at the character before its dot, at or
  // just before its LOG, or at its PHP), which a plain `ERROR` near the start mostly rules out.
  const before = word === null || everyShape ? head.length : word.index;
  const bracketed = word === null || everyShape || startsBefore(head, '[', before) || startsBefore(head, '<', before) || startsBefore(head, '(', before) ? BRACKETED_LEVEL.exec(head) : null;
  const named = word === null || everyShape || startsBefore(head, '.', before + 1) || startsBefore(head, 'LOG', before + 1) || startsBefore(head, 'PHP', before) ? NAMED_LEVEL.exec(head) : null;
  let pick = word;
  // A bracketed letter is a level in capitals only: `(c)` is a copyright, `[E]` an error.
  const letter = bracketed?.[1];
  if (bracketed && (letter!.length > 1 || letter === letter!.toUpperCase()) && (!pick || bracketed.index < pick.index)) pick = bracketed;
  if (named && (!pick || named.index < pick.index)) return namedLevel(named);
  if (!pick) return undefined;
  return normaliseLevel(pick[1] as string);
}

/**
 * The fields of one line. `labels` (from the source: config labels, journald, syslog header)
 * come first and win over what the text says; `level` is normalised from a level field, the
 * source's, or the start of a plain line, and absent when nothing says.
 */
export function extractFields(line: string, labels?: Fields): Fields {
  const sink = new FieldSink();
  const isJson = jsonFields(sink, line);
  if (!isJson && line.includes('=')) logfmtFields(sink, line);
  const fields = sink.fields;
  let level: Level | undefined;
  if (labels?.level !== undefined) level = normaliseLevel(labels.level) ?? undefined;
  for (const name of LEVEL_FIELDS) {
    if (level) break;
    const value = fields[name];
    if (value !== undefined) level = normaliseLevel(value, name);
  }
  // MongoDB's structured log (4.4+): `{"t":{"$date":…},"s":"E",…}`, `s` one of F E W I D1-D5.
  if (!level && isJson && fields['t.$date'] !== undefined && fields.s !== undefined && /^(?:[FEWI]|D[1-5]?)$/.test(fields.s)) level = LEVEL_LETTERS[fields.s[0] as string];
  if (!level && !isJson) level = plainLevel(line);
  if (labels) for (const [name, value] of Object.entries(labels)) fields[name] = value;
  if (level) fields.level = level;
  else if (fields.level !== undefined && labels?.level === undefined) delete fields.level;
  return fields;
}
