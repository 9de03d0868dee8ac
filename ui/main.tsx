/** Entry point of the web UI: sign-in or the explorer, by whether this tab holds a token. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, onTokenChange } from './auth.js';
import { AlertsPage } from './components/alerts-page.js';
import { Explorer } from './components/explorer.js';
import { SignIn } from './components/sign-in.js';
import { applyTheme } from './theme.js';

function App() {
  const [token, setTokenState] = useState(getToken());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  /** True once the user signed in on this page: the search box then takes the focus. */
  const [signedIn, setSignedIn] = useState(false);
  const current = useRef(token);
  useEffect(
    () =>
      onTokenChange((next) => {
        // Losing the token (sign-out, or any 401) keeps the URL, so the search resumes after.
        if (current.current && !next) setNotice('Signed out: sign in again to continue where you were.');
        if (!current.current && next) setSignedIn(true);
        current.current = next;
        setTokenState(next);
      }),
    [],
  );
  // `#alerts`: the alerts page; the explorer links to it with the search it shows.
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = (): void => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  if (!token) return <SignIn notice={notice} />;
  if (hash.startsWith('#alerts')) return <AlertsPage hash={hash} />;
  return (
    <>
      <Explorer justSignedIn={signedIn} />
      <a class="alert-on-search" href={`#alerts${location.search}`} style={{ position: 'fixed', right: '1rem', bottom: '1rem' }}>
        Alert on this search
      </a>
    </>
  );
}

applyTheme();
const root = document.getElementById('app');
if (root) render(<App />, root);
