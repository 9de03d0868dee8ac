/**
 * fs.watch on the directories that matter, for promptness only: polling stays the safety
 * net (watches miss events on some filesystems, and a directory can vanish and come back).
 */
import { watch, type FSWatcher } from 'node:fs';

const MAX_WATCHED = 512;

export class Watcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly onChange: () => void) {}

  watch(directories: string[]): void {
    for (const dir of directories) {
      if (this.watchers.has(dir) || this.watchers.size >= MAX_WATCHED) continue;
      try {
        const watcher = watch(dir, { persistent: false }, () => this.changed());
        watcher.on('error', () => this.forget(dir));
        this.watchers.set(dir, watcher);
      } catch {
        // not there (yet) or not watchable: polling covers it
      }
    }
  }

  close(): void {
    for (const dir of [...this.watchers.keys()]) this.forget(dir);
    if (this.pending !== undefined) clearTimeout(this.pending);
  }

  /** Bursts of events (a writer appending line by line) become one wake-up. */
  private changed(): void {
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.onChange();
    }, 20);
    this.pending.unref();
  }

  private forget(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }
}
