/**
 * The fields of the current results (`/logs/fields` with the same query) and, for a field
 * opened, its top values (`/logs/fields/{name}/values`). A value's click ANDs
 * `field:value` to the query; its − button ANDs the exclusion `-field:value`.
 */
import { useEffect, useState } from 'preact/hooks';
import { describeError, type FieldsAnswer, fieldNames, fieldValues, isAbort, queryProblem, type ValuesAnswer } from '../api.js';
import { formatCount } from '../format.js';
import { apiParams, fieldTerm, isQueryField, type Query } from '../query.js';

/** Fields listed at most (the most common first). */
const FIELDS_SHOWN = 40;
const VALUES_SHOWN = 10;

/** `host:` and `file:` narrow the sources read, so the language takes them only as plain equality. */
function excludable(name: string): boolean {
  return name !== 'host' && name !== 'file';
}

function FieldValues({ name, params, onTerm }: { name: string; params: URLSearchParams; onTerm: (term: string) => void }) {
  const [answer, setAnswer] = useState<ValuesAnswer | undefined>(undefined);
  const [error, setError] = useState('');
  const key = params.toString();
  useEffect(() => {
    const controller = new AbortController();
    const ask = new URLSearchParams(params);
    ask.set('limit', String(VALUES_SHOWN));
    fieldValues(name, ask, controller.signal)
      .then(setAnswer)
      .catch((failure: unknown) => {
        if (!isAbort(failure)) setError(describeError(failure));
      });
    return () => controller.abort();
  }, [name, key]);
  if (error !== '') return <p class="error small">{error}</p>;
  if (!answer) return <p class="muted small">Loading…</p>;
  const usable = isQueryField(name);
  const total = answer.data.reduce((sum, v) => sum + v.lines, 0) + answer.other_lines;
  return (
    <ul class="field-values" aria-label={`Top values of ${name}`}>
      {answer.data.map(({ value, lines }) => (
        <li key={value} class="field-value">
          <button
            type="button"
            class="value-add"
            disabled={!usable}
            title={usable ? `Add ${fieldTerm(name, value)} to the query` : `${name} cannot be named in a query`}
            aria-label={`Add ${fieldTerm(name, value)}`}
            onClick={() => onTerm(fieldTerm(name, value))}
          >
            <span class="value-text">{value === '' ? '(empty)' : value}</span>
            <span class="value-count">{formatCount(lines)}</span>
            <span class="value-bar" style={{ width: `${total > 0 ? Math.round((lines / total) * 100) : 0}%` }} />
          </button>
          <button
            type="button"
            class="value-exclude"
            disabled={!usable || !excludable(name)}
            title={excludable(name) ? `Exclude: add ${fieldTerm(name, value, true)}` : `${name} cannot be excluded in a query; use the pickers`}
            aria-label={`Exclude ${fieldTerm(name, value)}`}
            onClick={() => onTerm(fieldTerm(name, value, true))}
          >
            −
          </button>
        </li>
      ))}
      {answer.other_lines > 0 ? <li class="muted small">{formatCount(answer.other_lines)} lines with other values</li> : null}
    </ul>
  );
}

export function FieldSidebar({ query, generation, onTerm }: { query: Query; generation: number; onTerm: (term: string) => void }) {
  const [answer, setAnswer] = useState<FieldsAnswer | undefined>(undefined);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<string[]>(['level']);
  const params = apiParams(query);
  const key = params.toString();
  useEffect(() => {
    const controller = new AbortController();
    setAnswer(undefined);
    setError('');
    fieldNames(params, controller.signal)
      .then(setAnswer)
      .catch((failure: unknown) => {
        // A refused query is reported once, under the search box.
        if (!isAbort(failure) && !queryProblem(failure)) setError(describeError(failure));
      });
    return () => controller.abort();
  }, [key, generation]);

  const fields = (answer?.data ?? []).slice(0, FIELDS_SHOWN);
  return (
    <aside class="fields" aria-label="Fields" data-testid="fields">
      <h2 class="fields-title">
        Fields
        {answer ? (
          <span class="muted small" title={answer.partial ? 'Read from the newest matching lines only' : undefined}>
            {' '}
            of {answer.partial ? 'the newest ' : ''}
            {formatCount(answer.lines_examined)} lines
          </span>
        ) : null}
      </h2>
      {error !== '' ? <p class="error small">{error}</p> : null}
      {!answer && error === '' ? <p class="muted small">Loading…</p> : null}
      {answer && fields.length === 0 ? <p class="muted small">No fields in these lines.</p> : null}
      <ul class="field-list">
        {fields.map(({ name, lines }) => {
          const expanded = open.includes(name);
          return (
            <li key={name} class="field">
              <button
                type="button"
                class="field-name"
                aria-expanded={expanded}
                onClick={() => setOpen((current) => (expanded ? current.filter((n) => n !== name) : [...current, name]))}
              >
                <span class="field-caret" aria-hidden="true">
                  {expanded ? '▾' : '▸'}
                </span>
                <span class="field-label">{name}</span>
                <span class="value-count">{formatCount(lines)}</span>
              </button>
              {expanded ? <FieldValues name={name} params={params} onTerm={onTerm} /> : null}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
