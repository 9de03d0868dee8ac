/**
 * Log lines are shown as text, never interpreted: control characters (ANSI escapes, NUL,
 * carriage returns...) become visible escapes such as `\x1b`, so a line can neither
 * restyle the page nor hide text. The result is rendered as Preact text nodes only.
 */

export interface TextPiece {
  text: string;
  /** True for a visible escape that stands for one control character. */
  escape: boolean;
  /** True for a line break kept as one (a multi-line record shown whole). */
  newline?: boolean;
}

// C0 controls but tab, DEL, and C1 controls (U+0080..U+009F, e.g. the 8-bit CSI).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

function escapeOf(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Splits a line into plain text and visible escapes, in order. With `breaks`, a `\n` (the
 * separator of a multi-line record) is a real line break piece; otherwise a `↵` escape.
 */
export function splitControls(line: string, breaks = false): TextPiece[] {
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of line.matchAll(CONTROL)) {
    const at = match.index;
    if (at > last) pieces.push({ text: line.slice(last, at), escape: false });
    if (match[0] === '\n') pieces.push(breaks ? { text: '\n', escape: false, newline: true } : { text: '↵', escape: true });
    else pieces.push({ text: escapeOf(match[0]), escape: true });
    last = at + match[0].length;
  }
  if (last < line.length) pieces.push({ text: line.slice(last), escape: false });
  return pieces;
}

/** The line with every control character replaced by its visible escape (plain string). */
export function visibleText(line: string): string {
  return line.replace(CONTROL, escapeOf);
}

export interface MarkedPiece extends TextPiece {
  /** True when this piece is (part of) a filter match. */
  match: boolean;
}

/**
 * Marks substring matches of `needle` in `line` for highlighting. Only plain substrings are
 * marked: running a user's regex here could hang the tab (the server runs it in linear time,
 * the browser cannot promise that).
 */
export function markMatches(line: string, needles: string | string[], caseInsensitive: boolean, breaks = false): MarkedPiece[] {
  const out: MarkedPiece[] = [];
  const found: Array<[number, number]> = [];
  const hay = caseInsensitive ? line.toLowerCase() : line;
  for (const needle of typeof needles === 'string' ? [needles] : needles) {
    if (needle === '') continue;
    const want = caseInsensitive ? needle.toLowerCase() : needle;
    // Lower-casing can change lengths for a few characters; then indices would not line up.
    if (hay.length !== line.length || want.length !== needle.length) continue;
    let from = 0;
    for (;;) {
      const at = hay.indexOf(want, from);
      if (at < 0) break;
      found.push([at, at + want.length]);
      from = at + want.length;
    }
  }
  // Several needles may overlap: marked ranges are their union, in order.
  found.sort((a, b) => a[0] - b[0]);
  const ranges: Array<[number, number]> = [];
  for (const range of found) {
    const previous = ranges[ranges.length - 1];
    if (previous && range[0] <= previous[1]) previous[1] = Math.max(previous[1], range[1]);
    else ranges.push([range[0], range[1]]);
  }
  let pos = 0;
  const pushPlain = (end: number, match: boolean): void => {
    if (end <= pos) return;
    for (const piece of splitControls(line.slice(pos, end), breaks)) out.push({ ...piece, match });
    pos = end;
  };
  for (const [start, end] of ranges) {
    pushPlain(start, false);
    pushPlain(end, true);
  }
  pushPlain(line.length, false);
  return out;
}
