import type { StoredRun } from '../storage/store.js';

/**
 * Wakes live tails as soon as ingest has made lines durable, so a new line reaches a
 * follower in milliseconds instead of at the next poll. Polling stays as the fallback
 * (another process writing the same store, a missed wake-up). The alert evaluator also takes
 * the appended lines from here, so it need not read them back from the store.
 */
export class AppendNotifier {
  private waiters = new Set<() => void>();
  private readonly listeners = new Set<(stored: readonly StoredRun[]) => void>();

  /**
   * Called by the ingest route (and the push sink) after a durable append, with the lines the
   * store reports it stored (StoredRun), which go to the listeners before the waiters wake.
   */
  notify(stored?: readonly StoredRun[]): void {
    if (stored !== undefined && stored.length > 0) for (const listener of this.listeners) listener(stored);
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
  }

  /** Hands `listener` the lines of every append that reports them; returns what removes it. */
  onAppended(listener: (stored: readonly StoredRun[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves on the next notify(), after `timeoutMs`, or when `signal` aborts, whichever is first. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
