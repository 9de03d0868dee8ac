/**
 * The alerts page (`#alerts`): every rule with its state, last fired and last delivery (or
 * its error), delete; and a form that makes a rule from a search: `#alerts?q=…&host=…`,
 * which the explorer's "Alert on this search" link opens with the search being looked at.
 * Talks to /alerts (an admin token; another token sees the server's 403 message).
 */
import { useEffect, useState } from 'preact/hooks';
import type { AlertRuleEntry } from '../../src/protocol/api.js';
import { authHeaders, describeError, failureOf } from '../api.js';

type Rule = AlertRuleEntry;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await failureOf(response);
  return (await response.json()) as T;
}

const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** The search the page was opened with: `#alerts?q=…&host=…`. */
export function searchOfHash(hash: string): { q: string; hosts: string[] } {
  const params = new URLSearchParams(hash.replace(/^#alerts\??/, ''));
  return { q: params.get('q') ?? params.get('filter') ?? '', hosts: params.getAll('host').filter((h) => h !== '') };
}

export function AlertsPage({ hash }: { hash: string }) {
  const from = searchOfHash(hash);
  const [rules, setRules] = useState<Rule[] | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [form, setForm] = useState({ name: '', q: from.q, hosts: from.hosts.join(','), kind: 'count', span: '5m', threshold: '1', groupBy: '', target: 'webhook', url: '' });
  const load = (): void => {
    call<{ data: Rule[] }>('GET', '/alerts')
      .then((answer) => setRules(answer.data))
      .catch((error: unknown) => setProblem(describeError(error)));
  };
  useEffect(load, []);
  const set = (key: keyof typeof form) => (event: Event) => setForm({ ...form, [key]: (event.target as HTMLInputElement).value });
  const create = (event: Event): void => {
    event.preventDefault();
    setProblem(undefined);
    const body = {
      name: form.name,
      q: form.q,
      host: form.hosts.split(',').map((h) => h.trim()).filter(Boolean),
      condition: form.kind === 'count' ? { kind: 'count', window: form.span, threshold: Number(form.threshold) } : { kind: 'absent', for: form.span },
      group_by: form.groupBy.split(',').map((f) => f.trim()).filter(Boolean),
      notify: [{ [form.target]: form.url }],
    };
    call('POST', '/alerts', body)
      .then(load)
      .catch((error: unknown) => setProblem(describeError(error)));
  };
  const remove = (id: string): void => {
    call('DELETE', `/alerts/${encodeURIComponent(id)}`)
      .then(load)
      .catch((error: unknown) => setProblem(describeError(error)));
  };
  return (
    <main class="alerts-page" style={{ padding: '1rem', maxWidth: '70rem' }}>
      <p>
        <a href={`./${location.search}`}>← Back to the search</a>
      </p>
      <h1>Alerts</h1>
      {problem && <p role="alert">{problem}</p>}
      <form onSubmit={create} aria-label="Alert on this search" style={{ display: 'grid', gap: '0.4rem', gridTemplateColumns: 'max-content 1fr' }}>
        <label for="alert-name">Name</label>
        <input id="alert-name" required value={form.name} onInput={set('name')} />
        <label for="alert-q">Query</label>
        <input id="alert-q" value={form.q} onInput={set('q')} placeholder="every line" />
        <label for="alert-hosts">Hosts</label>
        <input id="alert-hosts" value={form.hosts} onInput={set('hosts')} placeholder="every host (comma-separated)" />
        <label for="alert-kind">Condition</label>
        <span>
          <select id="alert-kind" value={form.kind} onChange={set('kind')}>
            <option value="count">at least N lines in</option>
            <option value="absent">no line for</option>
          </select>{' '}
          {form.kind === 'count' && <input aria-label="Threshold" size={5} value={form.threshold} onInput={set('threshold')} />}{' '}
          <input aria-label="Window" size={6} value={form.span} onInput={set('span')} />
        </span>
        <label for="alert-group">Per field</label>
        <input id="alert-group" value={form.groupBy} onInput={set('groupBy')} placeholder="e.g. host" />
        <label for="alert-target">Notify</label>
        <span>
          <select id="alert-target" value={form.target} onChange={set('target')}>
            <option value="webhook">webhook</option>
            <option value="slack">Slack</option>
            <option value="alertmanager">Alertmanager</option>
          </select>{' '}
          <input aria-label="Target URL" required type="url" size={50} value={form.url} onInput={set('url')} placeholder="https://…" />
        </span>
        <span />
        <button type="submit">Create the alert</button>
      </form>
      <h2>Rules</h2>
      {rules === undefined ? (
        <p>Loading…</p>
      ) : rules.length === 0 ? (
        <p>No alert rules yet.</p>
      ) : (
        <table class="alerts">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Query</th>
              <th>Condition</th>
              <th>Last fired</th>
              <th>Last delivery</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rules.map((rule) => (
              <tr key={rule.id}>
                <td>{rule.name}</td>
                <td>{rule.state}{rule.muted_until ? ' (muted)' : ''}</td>
                <td>
                  <code>{rule.q || '*'}</code>
                  {rule.host.length > 0 ? ` on ${rule.host.join(', ')}` : ''}
                </td>
                <td>
                  {rule.condition.kind === 'count' ? `≥ ${rule.condition.threshold} in ${rule.condition.window}` : `none for ${rule.condition.for}`}
                  {rule.group_by.length > 0 ? ` per ${rule.group_by.join(', ')}` : ''}
                </td>
                <td>{when(rule.last_fired)}</td>
                <td>
                  {rule.last_delivery_error && (!rule.last_delivery || rule.last_delivery_error.at > rule.last_delivery.at)
                    ? `failing: ${rule.last_delivery_error.message}`
                    : when(rule.last_delivery?.at)}
                </td>
                <td>
                  <button type="button" onClick={() => remove(rule.id)} aria-label={`Delete ${rule.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
