/** One log line's text: plain text nodes, visible escapes, and marked query matches. */
import { markMatches } from '../log-text.js';

export interface Highlight {
  /** Words and phrases of the query (plain substrings; a regex is never run here). */
  terms: string[];
  caseInsensitive: boolean;
}

/** List rows show at most this much of a line; the context view shows all of it. */
const ROW_CHARS = 4000;

/**
 * In a list row a multi-line record stays on one row, each line break shown as `↵`; with
 * `full` (the entry's own view) the breaks are real.
 */
export function LogText({ line, highlight, full = false }: { line: string; highlight?: Highlight | undefined; full?: boolean }) {
  const shown = full || line.length <= ROW_CHARS ? line : line.slice(0, ROW_CHARS);
  const pieces = markMatches(shown, highlight?.terms ?? [], highlight?.caseInsensitive ?? false, full);
  return (
    <>
      {pieces.map((piece, i) => {
        if (piece.newline) return '\n';
        if (piece.escape) return <span key={i} class={piece.match ? 'esc match' : 'esc'}>{piece.text}</span>;
        if (piece.match) return <mark key={i}>{piece.text}</mark>;
        return piece.text;
      })}
      {shown.length < line.length ? <span class="esc">… ({line.length - shown.length} more characters)</span> : null}
    </>
  );
}
