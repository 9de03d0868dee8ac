/**
 * Counting the lines of a segment's text that match, without its columns: for a segment
 * whose lines all fall in one histogram bucket and inside the query's time range, only the
 * number of matching lines matters. A case-sensitive needle is walked with Buffer.indexOf
 * over the whole text block (memchr speed), one hit per line; other matches test line by line.
 */
import { payloadText } from '../segment/codec.js';
import type { CompiledMatch } from './matcher.js';

/** Lines of `text` (each followed by \n) that satisfy `match`. */
export function countMatchingLines(text: Buffer, ascii: boolean, match: CompiledMatch): number {
  const encoding = ascii ? 'latin1' : 'utf8';
  const onlyCondition = match.onlySubstring;
  const candidates = [...match.substrings, ...match.hints].filter((s) => s.needle.length > 0);
  const driver = candidates.find((s) => !s.caseInsensitive);
  let count = 0;
  if (driver !== undefined) {
    const needle = Buffer.from(driver.needle);
    let position = text.indexOf(needle);
    while (position !== -1) {
      const lineEnd = text.indexOf(10, position);
      if (position + needle.length > lineEnd) {
        position = text.indexOf(needle, position + 1); // spans a line break: not a match of this line
        continue;
      }
      if (onlyCondition) count++;
      else {
        const lineStart = position === 0 ? 0 : text.lastIndexOf(10, position - 1) + 1;
        if (match.test(text.toString(encoding, lineStart, lineEnd))) count++;
      }
      position = text.indexOf(needle, lineEnd + 1);
    }
    return count;
  }
  const insensitive = ascii ? candidates.find((s) => s.caseInsensitive) : undefined;
  if (insensitive !== undefined) {
    const lowered = text.toString('latin1').toLowerCase();
    const needle = insensitive.needle;
    let position = lowered.indexOf(needle);
    while (position !== -1) {
      const lineEnd = lowered.indexOf('\n', position);
      if (position + needle.length > lineEnd) {
        position = lowered.indexOf(needle, position + 1);
        continue;
      }
      if (onlyCondition) count++;
      else {
        const lineStart = position === 0 ? 0 : lowered.lastIndexOf('\n', position - 1) + 1;
        if (match.test(text.toString('latin1', lineStart, lineEnd))) count++;
      }
      position = lowered.indexOf(needle, lineEnd + 1);
    }
    return count;
  }
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf(10, start);
    if (match.test(text.toString(encoding, start, end))) count++;
    start = end + 1;
  }
  return count;
}

/**
 * Lines of a decompressed payload that match. A query that reads fields on a segment whose
 * lines carry their source's fields is tested line by line with them; otherwise the text decides.
 */
export function countPayloadLines(payload: Buffer, ascii: boolean, match: CompiledMatch): number {
  const { text, fieldsAt } = payloadText(payload);
  if (fieldsAt === undefined || !match.usesFields) return countMatchingLines(text, ascii, match);
  const encoding = ascii ? 'latin1' : 'utf8';
  let count = 0;
  for (let start = 0, i = 0; start < text.length; i++) {
    const end = text.indexOf(10, start);
    if (match.test(text.toString(encoding, start, end), fieldsAt(i))) count++;
    start = end + 1;
  }
  return count;
}
