/**
 * fs.watch (inotify on Linux) on the directories that matter: what changed, by name, so
 * the tailer stats only files that changed and rescans only when something appeared,
 * vanished or moved. Watches miss events on some filesystems (NFS, FUSE, bind mounts seen
 * from a container) and a directory can vanish and come back: the tailer keeps a slower
 * full scan as the safety net, and falls back to scanning at every interval whenever a
 * directory it needs could not be watched.
 */
import { watch, type FSWatcher } from 'node:fs';
import { decodeName, fsPath } from './tailer/names.js';

/** inotify watches are cheap (one per directory, all on one descriptor): the bound is generous. */
export const MAX_WATCHED = 8192;

/** 'rename': an entry appeared, vanished or moved; 'change': a file's content or metadata. */
export type ChangeKind = 'rename' | 'change';

export class Watcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private pending: NodeJS.Timeout | undefined;

  /**
   * `onEvent` for each event as it comes (cheap: record it); `onWake` once per burst.
   * `onLost` when a watched directory's watch ends (deleted, unmounted).
   */
  constructor(
    private readonly onWake: () => void,
    private readonly onEvent: (dir: string, name: string | undefined, kind: ChangeKind) => void = () => {},
    private readonly onLost: (dir: string) => void = () => {},
  ) {}

  /**
   * Watches these directories (and forgets the others). `all`: every one is watched;
   * `added`: how many were not watched before (what changed in them until now was missed).
   */
  watch(directories: Iterable<string>): { all: boolean; added: number } {
    const wanted = new Set(directories);
    for (const dir of [...this.watchers.keys()]) if (!wanted.has(dir)) this.forget(dir);
    let all = true;
    let added = 0;
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      if (this.watchers.size >= MAX_WATCHED) {
        all = false;
        continue;
      }
      try {
        const watcher = watch(fsPath(dir), { persistent: false, encoding: 'buffer' }, (kind, name) => {
          this.onEvent(dir, name === null ? undefined : decodeName(name), kind === 'change' ? 'change' : 'rename');
          this.changed();
        });
        watcher.on('error', () => {
          this.forget(dir);
          this.onLost(dir);
          this.changed();
        });
        this.watchers.set(dir, watcher);
        added++;
      } catch {
        all = false; // not there (yet) or not watchable: scanning covers it
      }
    }
    return { all, added };
  }

  get size(): number {
    return this.watchers.size;
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
      this.onWake();
    }, 20);
    this.pending.unref();
  }

  private forget(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }
}
