/** Token sign-in. The token is checked against the API before it is kept for the session. */
import { useState } from 'preact/hooks';
import { ApiFailure, listHosts } from '../api.js';
import { setToken } from '../auth.js';

export function SignIn({ notice }: { notice?: string | undefined }) {
  const [token, setDraft] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (): Promise<void> => {
    const trimmed = token.trim();
    if (trimmed === '') return setError('Paste the token that `daniel serve` printed (or DATA_DIR/token).');
    setBusy(true);
    setError('');
    try {
      await listHosts(undefined, trimmed);
      setToken(trimmed);
    } catch (failure) {
      if (failure instanceof ApiFailure && failure.status === 401) setError('This server does not know that token.');
      else if (failure instanceof ApiFailure && failure.status === 403) setError('That token cannot read logs (it needs the read or admin scope).');
      else setError(`Could not reach the server: ${failure instanceof Error ? failure.message : String(failure)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <form
        class="sign-in-card"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <h1>Daniel</h1>
        <p class="muted">Search and follow every host's logs.</p>
        {notice ? <p class="notice" role="status">{notice}</p> : null}
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" autoFocus value={token} onInput={(e) => setDraft(e.currentTarget.value)} />
        {error !== '' ? <p class="error" role="alert">{error}</p> : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="muted small">The token stays in this tab's session storage and is never put in a URL.</p>
      </form>
    </main>
  );
}
