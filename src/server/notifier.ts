/**
 * Wakes live tails as soon as ingest has made lines durable, so a new line reaches a
 * follower in milliseconds instead of at the next poll. Polling stays as the fallback
 * (another process writing the same store, a missed wake-up).
 */
export class AppendNotifier {
  private waiters = new Set<() => void>();

  /** Called by the ingest route after a durable append. */
  notify(): void {
    const waiting = this.waiters;
    this.waiters = new Set();
    for (const wake of waiting) wake();
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
