/**
 * What Daniel accepts as a host, file name, file id or path, and the range of a timestamp:
 * one definition that the server's validation and the agent's escaping both read, so the
 * agent never sends a value the server refuses.
 */
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;
export const INT64_MAX = 9_223_372_036_854_775_807n;
export const INT64_MIN = -9_223_372_036_854_775_808n;
/** A line's timestamp on the wire: a signed decimal of nanoseconds since the epoch, 64 bits. */
export const TIMESTAMP_PATTERN = '^-?[0-9]{1,19}$';

/**
 * A wire timestamp as nanoseconds, or undefined when it is not a signed decimal within the
 * signed 64-bit range (-2^63 .. 2^63-1: 1677-09-21 to 2262-04-11).
 */
export function parseWireTimestamp(text: string): bigint | undefined {
  if (!/^-?[0-9]{1,19}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}
// C0 controls, DEL and C1 controls.
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A line's text as it can be stored: lone surrogates (from `\ud800` escapes) cannot be UTF-8, they become U+FFFD. */
export function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

/** Why a host, file name or file id is refused, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `is over ${MAX_NAME_BYTES} bytes of UTF-8`;
  if (name.includes('\0')) return 'holds a NUL character';
  if (CONTROL.test(name)) return 'holds a control character';
  if (LONE_SURROGATE.test(name)) return 'is not valid Unicode';
  if (name.split(/[/\\]/).includes('..')) return "holds a '..' path segment";
  return undefined;
}

