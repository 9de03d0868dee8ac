/** The line under the chart: what the list holds, whether more is coming, live tail controls. */
import { formatCount } from '../format.js';
import type { SearchState } from '../use-search.js';
import type { LiveView } from '../use-live.js';

export function SearchStatus({ state, onMore }: { state: SearchState; onMore: () => void }) {
  let text: string;
  if (state.error !== '') text = '';
  else if (state.loading && state.rows.length === 0) text = 'Searching…';
  else if (state.rows.length === 0) text = state.next ? 'No lines yet: the time budget ran out.' : 'No matching lines.';
  else text = `${state.rows.length.toLocaleString()} lines${state.next ? ', more as you scroll' : ', end of results'}`;
  return (
    <div class="status" data-testid="status">
      <span role="status">{text}</span>
      {state.partial ? <span class="badge" title="The server's time budget ran out; scrolling continues the search">partial</span> : null}
      {state.loading && state.rows.length > 0 ? <span class="muted">loading…</span> : null}
      {state.next && !state.loading && state.rows.length === 0 ? (
        <button type="button" class="link" onClick={onMore}>
          Continue searching
        </button>
      ) : null}
      {state.error !== '' ? <span class="error" role="alert">{state.error}</span> : null}
    </div>
  );
}

const LIVE_LABELS: Record<string, string> = { connecting: 'connecting…', live: 'live', paused: 'paused', retrying: 'reconnecting…', stopped: 'stopped' };

export function LiveStatus({ live }: { live: LiveView }) {
  const paused = live.state === 'paused';
  return (
    <div class="status" data-testid="status">
      <span class={`live-dot ${live.state}`} aria-hidden="true" />
      <span role="status" data-testid="live-state">
        {LIVE_LABELS[live.state]}
      </span>
      <span class="rate" data-testid="live-rate" title="New lines per second over the last 5 seconds">
        {live.rate < 10 ? live.rate.toFixed(1) : formatCount(Math.round(live.rate))} lines/s
      </span>
      <span class="muted">{formatCount(live.received)} new</span>
      <button type="button" onClick={paused || live.state === 'stopped' ? live.resume : live.pause} data-testid="live-toggle">
        {paused || live.state === 'stopped' ? 'Resume' : 'Pause'}
      </button>
      {live.detail !== '' ? <span class="muted">{live.detail}</span> : null}
    </div>
  );
}
