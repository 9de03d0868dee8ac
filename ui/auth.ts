/**
 * The API token for this tab. sessionStorage keeps it across reloads of the tab but not
 * beyond it, and it never goes into a URL (URLs end up in history, logs and referrers).
 */
const KEY = 'daniel.token';

type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token);
  for (const listener of listeners) listener(token);
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: nothing was kept either.
  }
  for (const listener of listeners) listener(null);
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
