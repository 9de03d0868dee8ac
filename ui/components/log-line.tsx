/** One log line's text: plain text nodes, visible escapes, and marked filter matches. */
import { markMatches } from '../log-text.js';

export interface Highlight {
  text: string;
  caseInsensitive: boolean;
}

/** List rows show at most this much of a line; the context view shows all of it. */
const ROW_CHARS = 4000;

export function LogText({ line, highlight, full = false }: { line: string; highlight?: Highlight | undefined; full?: boolean }) {
  const shown = full || line.length <= ROW_CHARS ? line : line.slice(0, ROW_CHARS);
  const pieces = markMatches(shown, highlight?.text ?? '', highlight?.caseInsensitive ?? false);
  return (
    <>
      {pieces.map((piece, i) => {
        if (piece.escape) return <span key={i} class={piece.match ? 'esc match' : 'esc'}>{piece.text}</span>;
        if (piece.match) return <mark key={i}>{piece.text}</mark>;
        return piece.text;
      })}
      {shown.length < line.length ? <span class="esc">… ({line.length - shown.length} more characters)</span> : null}
    </>
  );
}
