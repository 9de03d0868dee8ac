/** Dark and light: follows the system (prefers-color-scheme) unless the user picked one. */
export type ThemeChoice = 'auto' | 'dark' | 'light';

const KEY = 'daniel.theme';
const listeners = new Set<() => void>();
const systemDark = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;

export function getTheme(): ThemeChoice {
  try {
    const stored = localStorage.getItem(KEY);
    return stored === 'dark' || stored === 'light' ? stored : 'auto';
  } catch {
    return 'auto';
  }
}

/** The scheme actually shown. */
export function effectiveTheme(): 'dark' | 'light' {
  const choice = getTheme();
  if (choice !== 'auto') return choice;
  return systemDark?.matches ? 'dark' : 'light';
}

export function applyTheme(choice: ThemeChoice = getTheme()): void {
  const root = document.documentElement;
  if (choice === 'auto') delete root.dataset.theme;
  else root.dataset.theme = choice;
  for (const listener of listeners) listener();
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === 'auto') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // Storage disabled: the choice lasts for this page only.
  }
  applyTheme(choice);
}

export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return choice === 'auto' ? 'dark' : choice === 'dark' ? 'light' : 'auto';
}

/** Called when the shown scheme may have changed (user toggle or system switch). */
export function onThemeChange(listener: () => void): () => void {
  listeners.add(listener);
  const system = (): void => listener();
  systemDark?.addEventListener('change', system);
  return () => {
    listeners.delete(listener);
    systemDark?.removeEventListener('change', system);
  };
}
