/**
 * One syslog message -> what Daniel stores: RFC 5424, RFC 3164 and the variants real senders
 * emit (no hostname, RFC 3339 times from rsyslog templates, Cisco IOS's sequence numbers and
 * `*Mmm dd hh:mm:ss.mmm:` times, no PRI at all). Never throws: whatever the bytes, the result
 * is a message whose text is the rest of the input, so garbage is stored, not lost.
 */

/** RFC 5424 §6.2.1, with the names rsyslog gives 13..15. */
export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;

/** Severity 0..7 -> the normalised level names of src/query/fields.ts LEVELS. */
export const SEVERITY_LEVELS = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'] as const;

/** RFC 3164 §4.3: a message without a usable PRI is user.notice. */
const DEFAULT_PRI = 13;

export interface SyslogMessage {
  /** The MSG part (RFC 5424) or CONTENT after the tag (RFC 3164). */
  text: string;
  /** Nanoseconds since the epoch; undefined when the message carries no usable time. */
  timestamp?: bigint;
  /** HOSTNAME, when the message names one. */
  hostname?: string;
  /** APP-NAME (RFC 5424) or TAG (RFC 3164). */
  app?: string;
  fields: Record<string, string>;
}

export interface ParseOptions {
  /** The receiver's clock (ns), for the year RFC 3164 leaves out. */
  nowNs: bigint;
}

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

const NS_PER_MS = 1_000_000n;

/** `<PRI>` at the start: the value and its length, or undefined when absent or out of range. */
function readPri(text: string): { pri: number; length: number } | undefined {
  const match = /^<(\d{1,3})>/.exec(text);
  if (!match) return undefined;
  const pri = Number(match[1]);
  if (pri > 191 || (match[1] as string).length > 1 && (match[1] as string).startsWith('0')) return undefined;
  return { pri, length: match[0].length };
}

/** Digits of a fraction of a second -> nanoseconds (at most 9 digits used). */
function fractionNs(digits: string | undefined): bigint {
  if (digits === undefined || digits === '') return 0n;
  // At most 9 digits: below 2^53, so read as a number, which is cheaper than a BigInt from text.
  return BigInt(Number(digits.slice(0, 9).padEnd(9, '0')));
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,12}))?(Z|z|[+-]\d{2}:?\d{2})?/;

/**
 * The last whole second readIsoTime worked out from a zoned time: its first 19 characters (the
 * date and time up to the seconds, fixed widths), its zone, and that second's ns. A sender's
 * messages mostly come many to a second, and working the second out is most of the cost of
 * reading a time. Zone-less times are read in the receiver's zone, which may change: not kept.
 */
let lastSecond = '';
let lastZone = '';
let lastSecondNs = 0n;

/** An RFC 3339 time (a zone-less one is read in the receiver's zone) -> ns and its length. */
function readIsoTime(text: string): { ns: bigint; length: number } | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const zone = match[8];
  let secondNs: bigint | undefined;
  if (zone !== undefined && zone === lastZone && text.startsWith(lastSecond)) secondNs = lastSecondNs;
  else {
    secondNs = secondOf(match);
    if (secondNs === undefined) return undefined;
    if (zone !== undefined) {
      lastSecond = text.slice(0, 19);
      lastZone = zone;
      lastSecondNs = secondNs;
    }
  }
  return { ns: secondNs + fractionNs(match[7]), length: match[0].length };
}

/** The whole second of an RFC3339 match, in ns, or undefined when a field is out of range. */
function secondOf(match: RegExpExecArray): bigint | undefined {
  const [, y, mo, d, h, mi, s, , zone] = match as unknown as string[];
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  let ms: number;
  if (zone === undefined) {
    ms = new Date(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]).getTime();
  } else {
    ms = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
    }
  }
  if (!Number.isFinite(ms) || parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 || parts[4] > 59 || parts[5] > 60) {
    return undefined;
  }
  return BigInt(ms) * NS_PER_MS;
}

/**
 * RFC 3164's `Mmm dd hh:mm:ss`, with what devices add: Cisco's `*` (clock not set) or `.`
 * (not synchronised) before it, a year, milliseconds, a zone name, and a `:` after it.
 */
const BSD_TIME =
  /^[*.]?([A-Za-z]{3}) {1,2}(\d{1,2})(?: (\d{4}))? (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?: ([A-Z]{3,5}))?(:?)(?= |$)/;

function readBsdTime(text: string, nowNs: bigint): { ns: bigint; length: number } | undefined {
  const match = BSD_TIME.exec(text);
  if (!match) return undefined;
  const month = MONTHS[(match[1] as string).toLowerCase()];
  const [day, hour, minute, second] = [match[2], match[4], match[5], match[6]].map(Number) as [number, number, number, number];
  if (month === undefined || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const zone = match[8];
  const utc = zone === 'UTC' || zone === 'GMT';
  const at = (year: number): number =>
    utc ? Date.UTC(year, month, day, hour, minute, second) : new Date(year, month, day, hour, minute, second).getTime();
  let ms: number;
  if (match[3] !== undefined) {
    ms = at(Number(match[3]));
  } else {
    // No year: this year, unless that is more than a day ahead (December's lines read in January).
    const nowMs = Number(nowNs / NS_PER_MS);
    const year = new Date(nowMs).getFullYear();
    ms = at(year);
    if (ms > nowMs + 86_400_000) ms = at(year - 1);
  }
  if (!Number.isFinite(ms)) return undefined;
  return { ns: BigInt(ms) * NS_PER_MS + fractionNs(match[7]), length: match[0].length };
}

function setPri(fields: Record<string, string>, pri: number): void {
  fields.facility = FACILITIES[pri >> 3] as string;
  fields.level = SEVERITY_LEVELS[pri & 7] as string;
}

/** RFC 5424 §6.3.3: PARAM-VALUE with `\"`, `\\` and `\]` escaped. */
function readStructuredData(text: string, fields: Record<string, string>): number | undefined {
  if (text.startsWith('-')) return 1;
  let at = 0;
  while (text[at] === '[') {
    const idMatch = /^\[([^\s=\]"]{1,32})/.exec(text.slice(at, at + 34));
    if (!idMatch) return undefined;
    const id = idMatch[1] as string;
    at += idMatch[0].length;
    for (;;) {
      if (text[at] === ']') {
        at++;
        break;
      }
      const paramMatch = /^ ([^\s=\]"]{1,32})="/.exec(text.slice(at, at + 36));
      if (!paramMatch) return undefined;
      at += paramMatch[0].length;
      let value = '';
      for (;;) {
        const char = text[at];
        if (char === undefined) return undefined;
        if (char === '\\' && (text[at + 1] === '"' || text[at + 1] === '\\' || text[at + 1] === ']')) {
          value += text[at + 1];
          at += 2;
        } else if (char === '"') {
          at++;
          break;
        } else {
          value += char;
          at++;
        }
      }
      fields[`sd.${id}.${paramMatch[1] as string}`] = value;
    }
  }
  return at === 0 ? undefined : at;
}

const NIL = '-';

/** `1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]` after the PRI, or undefined if it is not. */
function parse5424(rest: string, fields: Record<string, string>): SyslogMessage | undefined {
  const header = /^1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(rest);
  if (!header) return undefined;
  const [, time, hostname, app, procid, msgid] = header as unknown as string[];
  let timestamp: bigint | undefined;
  if (time !== NIL) {
    const parsed = readIsoTime(time as string);
    if (parsed === undefined || parsed.length !== (time as string).length) return undefined;
    timestamp = parsed.ns;
  }
  const sdFields: Record<string, string> = {};
  const afterHeader = rest.slice(header[0].length);
  const sdLength = readStructuredData(afterHeader, sdFields);
  if (sdLength === undefined) return undefined;
  let text = afterHeader.slice(sdLength);
  if (text.startsWith(' ')) text = text.slice(1);
  else if (text !== '') return undefined;
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const message: SyslogMessage = { text, fields };
  if (timestamp !== undefined) message.timestamp = timestamp;
  if (hostname !== NIL) message.hostname = hostname as string;
  if (app !== NIL) {
    message.app = app as string;
    fields.app = app as string;
  }
  if (procid !== NIL) fields.procid = procid as string;
  if (msgid !== NIL) fields.msgid = msgid as string;
  Object.assign(fields, sdFields);
  return message;
}

/** `TAG[PID]: ` or `TAG: ` (a TAG is what comes before the first `[`, `:` or space). */
const TAG = /^([^\s[\]:%]{1,48})(?:\[([^\]\s]{0,128})\])?:(?: |$)/;
/** What a HOSTNAME may look like: a name, an IPv4 or an IPv6 address. */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$|^[0-9A-Fa-f:.]{2,45}$/;

/** RFC 3164 and what devices send instead, after the PRI. */
function parse3164(rest: string, nowNs: bigint, fields: Record<string, string>): SyslogMessage {
  let text = rest;
  const message: SyslogMessage = { text, fields };
  // Cisco IOS: `<189>42: ` (service sequence-numbers), then maybe `host: ` or the time.
  const sequence = /^(\d{1,10}): /.exec(text);
  if (sequence) {
    fields.sequence = sequence[1] as string;
    text = text.slice(sequence[0].length);
    // `logging origin-id hostname`: `<189>42: router1: *Mar  1 18:46:11.123 UTC: %LINK-3-UPDOWN: …`
    const origin = /^([A-Za-z0-9_][A-Za-z0-9._-]{0,254}): (?=[*.]?[A-Za-z]{3} )/.exec(text);
    if (origin && readBsdTime(text.slice(origin[0].length), nowNs) !== undefined) {
      message.hostname = origin[1] as string;
      text = text.slice(origin[0].length);
    }
  }
  const time = readIsoTime(text) ?? readBsdTime(text, nowNs);
  if (time === undefined || (text[time.length] !== ' ' && text.length !== time.length)) {
    // No time: all of it is the message (RFC 3164 §4.3.3), save an `app: ` or `app[pid]: ` tag.
    message.text = text;
    return message;
  }
  message.timestamp = time.ns;
  text = text.slice(time.length + 1);
  // A HOSTNAME is there unless the first word is already the tag.
  const first = /^(\S+) /.exec(text);
  if (message.hostname === undefined && first && !TAG.test(text) && HOSTNAME.test(first[1] as string)) {
    message.hostname = first[1] as string;
    text = text.slice(first[0].length);
    // Cisco ASA with `logging device-id hostname`: `fw01 : %ASA-6-302013: …`.
    if (text.startsWith(': ')) text = text.slice(2);
  }
  const tag = TAG.exec(text);
  if (tag) {
    message.app = tag[1] as string;
    fields.app = tag[1] as string;
    if (tag[2] !== undefined && tag[2] !== '') fields.procid = tag[2];
    text = text.slice(tag[0].length);
  }
  message.text = text;
  return message;
}

/** One message, already cut from its datagram or frame and decoded (invalid UTF-8 as U+FFFD). */
export function parseSyslog(raw: string, options: ParseOptions): SyslogMessage {
  // A trailing CR (CRLF senders) or NUL (NUL-delimited senders) is framing, not text.
  let end = raw.length;
  for (let code = raw.charCodeAt(end - 1); code === 0x0d || code === 0x0a || code === 0; code = raw.charCodeAt(end - 1)) end--;
  const input = end === raw.length ? raw : raw.slice(0, end);
  const fields: Record<string, string> = {};
  const pri = readPri(input);
  setPri(fields, pri?.pri ?? DEFAULT_PRI);
  const rest = pri === undefined ? input : input.slice(pri.length);
  if (pri !== undefined) {
    const structured = parse5424(rest, fields);
    if (structured) return structured;
  }
  return parse3164(rest, options.nowNs, fields);
}
