/**
 * The results list: only the rows in view (plus a margin) are in the DOM, so 10,000 or
 * 100,000 loaded lines scroll as smoothly as 50. Rows have one fixed height (set by CSS per
 * screen width and measured here); asking for more when the end comes near is the caller's.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { LogEntry } from '../../src/protocol/api.js';
import { formatTime } from '../format.js';
import { type Highlight, LogText } from './log-line.js';

const OVERSCAN = 10;
/** A row's level in at most five letters. */
const LEVEL_TAGS: Record<string, string> = { emergency: 'EMERG', alert: 'ALERT', critical: 'CRIT', error: 'ERROR', warn: 'WARN', notice: 'NOTE', info: 'INFO', debug: 'DEBUG', trace: 'TRACE' };

export interface VirtualListProps {
  rows: LogEntry[];
  highlight?: Highlight | undefined;
  /** Called when the view is within `nearEndRows` of the last row. */
  onNearEnd?: (() => void) | undefined;
  nearEndRows?: number;
  onSelect: (entry: LogEntry) => void;
  /** Live tail: keep the view at the bottom while the user has not scrolled up. */
  followBottom?: boolean;
  /** Marks a row (the one whose context is open). */
  selectedKey?: string | undefined;
  label: string;
}

export function entryKey(entry: LogEntry): string {
  return `${entry.host}\u0000${entry.file_id}\u0000${entry.offset}`;
}

function measureRowHeight(probe: HTMLElement | null): number {
  if (!probe) return 22;
  const height = probe.getBoundingClientRect().height;
  return height > 0 ? height : 22;
}

export function VirtualList(props: VirtualListProps) {
  const { rows, onNearEnd, nearEndRows = 100, followBottom = false } = props;
  const viewport = useRef<HTMLDivElement>(null);
  const probe = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const [rowHeight, setRowHeight] = useState(22);
  const atBottom = useRef(true);
  /** Live tail scrolled up: new lines arrive below, so a button jumps back to them. */
  const [away, setAway] = useState(false);
  const frame = useRef(0);

  // The row height follows the CSS (it changes at the phone breakpoint), so measure it.
  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return undefined;
    const update = (): void => {
      setViewHeight(element.clientHeight);
      setRowHeight(measureRowHeight(probe.current));
    };
    update();
    const observer = new ResizeObserver(update);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const onScroll = (): void => {
    const element = viewport.current;
    if (!element) return;
    atBottom.current = element.scrollTop + element.clientHeight >= element.scrollHeight - rowHeight;
    setAway(!atBottom.current);
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => setScrollTop(element.scrollTop));
  };

  useLayoutEffect(() => {
    const element = viewport.current;
    if (followBottom && atBottom.current && element) {
      element.scrollTop = element.scrollHeight;
      setScrollTop(element.scrollTop);
    }
  }, [rows, followBottom, rowHeight]);

  const jumpToNewest = (): void => {
    const element = viewport.current;
    if (!element) return;
    atBottom.current = true;
    setAway(false);
    element.scrollTop = element.scrollHeight;
    setScrollTop(element.scrollTop);
  };

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewHeight) / rowHeight) + OVERSCAN);

  useEffect(() => {
    if (onNearEnd && rows.length > 0 && last >= rows.length - nearEndRows) onNearEnd();
  }, [last, rows.length, onNearEnd, nearEndRows]);

  const visible = [];
  for (let i = first; i < last; i++) {
    const entry = rows[i];
    if (!entry) continue;
    const key = entryKey(entry);
    const level = entry.fields?.level;
    visible.push(
      <div
        key={key}
        class={`row${key === props.selectedKey ? ' selected' : ''}${level ? ` level-${level}` : ''}`}
        data-level={level}
        role="row"
        aria-rowindex={i + 1}
        tabIndex={0}
        style={{ transform: `translateY(${i * rowHeight}px)` }}
        onClick={(event) => {
          // Selecting text to copy it is not a request to open the line.
          const selection = getSelection();
          if (selection && !selection.isCollapsed && event.currentTarget.contains(selection.anchorNode)) return;
          props.onSelect(entry);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter') props.onSelect(entry);
        }}
      >
        <span class="cell time" role="cell">{formatTime(entry.timestamp)}</span>
        <span class="cell level" role="cell" title={level ? `level ${level}` : 'no level'}>
          {level ? (LEVEL_TAGS[level] ?? level.slice(0, 5).toUpperCase()) : ''}
        </span>
        <span class="cell host" role="cell">{entry.host}</span>
        <span class="cell file" role="cell" title={entry.path}>{entry.filename}</span>
        <span class="cell text" role="cell">
          <LogText line={entry.logline} highlight={props.highlight} />
        </span>
      </div>,
    );
  }

  return (
    <div class="list">
    <div class="viewport" ref={viewport} onScroll={onScroll} role="table" aria-label={props.label} aria-rowcount={rows.length}>
      <div class="row probe" ref={probe} aria-hidden="true">
        <span class="cell time">0</span>
        <span class="cell text">0</span>
      </div>
      <div class="spacer" style={{ height: `${rows.length * rowHeight}px` }}>
        {visible}
      </div>
    </div>
    {followBottom && away ? (
      <button type="button" class="jump" onClick={jumpToNewest}>
        ↓ Jump to newest
      </button>
    ) : null}
    </div>
  );
}
