/**
 * Log lines are shown as text, never interpreted: control characters (ANSI escapes, NUL,
 * carriage returns...) become visible escapes such as `\x1b`, so a line can neither
 * restyle the page nor hide text. The result is rendered as Preact text nodes only.
 */

export interface TextPiece {
  text: string;
  /** True for a visible escape that stands for one control character. */
  escape: boolean;
}

// C0 controls but tab, DEL, and C1 controls (U+0080..U+009F, e.g. the 8-bit CSI).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

function escapeOf(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Splits a line into plain text and visible escapes, in order. */
export function splitControls(line: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of line.matchAll(CONTROL)) {
    const at = match.index;
    if (at > last) pieces.push({ text: line.slice(last, at), escape: false });
    pieces.push({ text: escapeOf(match[0]), escape: true });
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
export function markMatches(line: string, needle: string, caseInsensitive: boolean): MarkedPiece[] {
  const out: MarkedPiece[] = [];
  const ranges: Array<[number, number]> = [];
  if (needle !== '') {
    const hay = caseInsensitive ? line.toLowerCase() : line;
    const want = caseInsensitive ? needle.toLowerCase() : needle;
    // Lower-casing can change lengths for a few characters; then indices would not line up.
    if (hay.length === line.length && want.length === needle.length) {
      let from = 0;
      for (;;) {
        const at = hay.indexOf(want, from);
        if (at < 0) break;
        ranges.push([at, at + want.length]);
        from = at + want.length;
      }
    }
  }
  let pos = 0;
  const pushPlain = (end: number, match: boolean): void => {
    if (end <= pos) return;
    for (const piece of splitControls(line.slice(pos, end))) out.push({ ...piece, match });
    pos = end;
  };
  for (const [start, end] of ranges) {
    pushPlain(start, false);
    pushPlain(end, true);
  }
  pushPlain(line.length, false);
  return out;
}
