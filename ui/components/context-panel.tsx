/**
 * An entry opened: its text whole (a JSON line pretty-printed, a multi-line record with its
 * line breaks), a table of its fields, and the lines around it in its own file (by offset,
 * not by time), the hit marked.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ContextResponse, LogEntry } from '../../src/protocol/api.js';
import { describeError, isAbort, lineContext } from '../api.js';
import { formatTime } from '../format.js';
import { prettyJson } from '../json-pretty.js';
import { fieldTerm, isQueryField } from '../query.js';
import { type Highlight, LogText } from './log-line.js';

const SIZES = [5, 10, 25, 50, 100];

export interface ContextPanelProps {
  entry: LogEntry;
  highlight?: Highlight | undefined;
  onClose: () => void;
  /** ANDs a term to the query (from the fields table). */
  onTerm: (term: string) => void;
}

function EntryView({ entry, highlight, onTerm }: { entry: LogEntry; highlight?: Highlight | undefined; onTerm: (term: string) => void }) {
  const pretty = prettyJson(entry.logline);
  const fields = Object.entries(entry.fields ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return (
    <section class="entry" aria-label="The selected entry" data-testid="entry">
      <div class="entry-meta muted">
        {formatTime(entry.timestamp)} · {entry.host} · {entry.path || entry.filename} · offset {entry.offset}
        {entry.cut ? ' · cut at the agent\'s line limit' : ''}
      </div>
      <pre class={pretty === undefined ? 'entry-text' : 'entry-text json'} data-testid="entry-text">
        {pretty === undefined ? <LogText line={entry.logline} highlight={highlight} full /> : <LogText line={pretty} full />}
      </pre>
      {fields.length > 0 ? (
        <table class="entry-fields" aria-label="Fields of the entry">
          <tbody>
            {fields.map(([name, value]) => (
              <tr key={name} data-level={name === 'level' ? value : undefined}>
                <th scope="row">{name}</th>
                <td>
                  <LogText line={value} full />
                </td>
                <td class="entry-actions">
                  {isQueryField(name) ? (
                    <>
                      <button type="button" class="link" aria-label={`Add ${fieldTerm(name, value)}`} title={`Add ${fieldTerm(name, value)}`} onClick={() => onTerm(fieldTerm(name, value))}>
                        +
                      </button>
                      <button type="button" class="link" aria-label={`Exclude ${fieldTerm(name, value)}`} title={`Add ${fieldTerm(name, value, true)}`} onClick={() => onTerm(fieldTerm(name, value, true))}>
                        −
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted small">No fields in this line.</p>
      )}
    </section>
  );
}

export function ContextPanel({ entry, highlight, onClose, onTerm }: ContextPanelProps) {
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
    <aside class="context" role="dialog" aria-label="The selected line and the lines around it" data-testid="context">
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
      <EntryView entry={entry} highlight={highlight} onTerm={onTerm} />
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
