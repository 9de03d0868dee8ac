/** The lines around a hit in its own file (by offset, not by time), the hit marked. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ContextResponse, LogEntry } from '../../src/protocol/api.js';
import { describeError, isAbort, lineContext } from '../api.js';
import { formatTime } from '../format.js';
import { type Highlight, LogText } from './log-line.js';

const SIZES = [5, 10, 25, 50, 100];

export interface ContextPanelProps {
  entry: LogEntry;
  highlight?: Highlight | undefined;
  onClose: () => void;
}

export function ContextPanel({ entry, highlight, onClose }: ContextPanelProps) {
  const [size, setSize] = useState(10);
  const [context, setContext] = useState<ContextResponse['data'] | undefined>(undefined);
  const [error, setError] = useState('');
  const hit = useRef<HTMLDivElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const controller = new AbortController();
    setError('');
    lineContext({ host: entry.host, fileId: entry.file_id, offset: entry.offset, before: size, after: size }, controller.signal)
      .then((answer) => setContext(answer.data))
      .catch((failure: unknown) => {
        if (!isAbort(failure)) setError(describeError(failure));
      });
    return () => controller.abort();
  }, [entry, size]);

  useEffect(() => closeButton.current?.focus(), [entry]);
  useLayoutEffect(() => hit.current?.scrollIntoView({ block: 'center' }), [context]);

  const row = (line: LogEntry, isHit: boolean) => (
    <div key={line.offset} ref={isHit ? hit : undefined} class={isHit ? 'ctx-line hit' : 'ctx-line'} aria-current={isHit ? 'true' : undefined}>
      <span class="ctx-offset" title={`byte offset ${line.offset}`}>{line.offset}</span>
      <span class="ctx-time">{formatTime(line.timestamp)}</span>
      <span class="ctx-text">
        <LogText line={line.logline} highlight={isHit ? highlight : undefined} full />
      </span>
    </div>
  );

  return (
    <aside class="context" role="dialog" aria-label="Lines around the selected line" data-testid="context">
      <header class="context-head">
        <div class="context-title">
          <strong>{entry.host}</strong> <span class="muted">{entry.path || entry.filename}</span>
        </div>
        <label class="context-size">
          lines around{' '}
          <select value={String(size)} onChange={(event) => setSize(Number(event.currentTarget.value))}>
            {SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" ref={closeButton} onClick={onClose} aria-label="Close context (Esc)">
          ✕
        </button>
      </header>
      {error !== '' ? <p class="error" role="alert">{error}</p> : null}
      {context ? (
        <div class="context-lines">
          {context.before.length < size ? <p class="muted edge">start of file</p> : null}
          {context.before.map((line) => row(line, false))}
          {row(context.line, true)}
          {context.after.map((line) => row(line, false))}
          {context.after.length < size ? <p class="muted edge">end of stored lines</p> : null}
        </div>
      ) : error === '' ? (
        <p class="muted">Loading…</p>
      ) : null}
    </aside>
  );
}
