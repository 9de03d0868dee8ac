/**
 * What makes an append durable before it is acknowledged, off the main thread when that pays.
 *
 * The store's connection commits with synchronous=NORMAL: a commit writes its frames to the
 * WAL and returns without waiting for the disk. The store then flushes the WAL file
 * (fdatasync) before the append resolves: what synchronous=FULL gives (a commit acknowledged
 * is on disk, through an OS crash or a power cut); `after` picks how by size. A large
 * append's flush runs on libuv's thread pool (`sync`), so the main thread goes on with the
 * next request meanwhile, and every commit made while one flush runs shares the next. A small
 * one's runs at once on the main thread (`syncNow`), as SQLite's would: its flush is short,
 * and waiting for the thread pool would put the answer behind whatever the main thread does
 * next (a search's slice).
 * SQLite's WAL is safe from corruption in NORMAL: a checkpoint syncs the WAL before it copies
 * pages into the database file, and the database file before it lets the WAL start over.
 *
 * Checkpoints stay where SQLite runs them, after a commit on the main thread every 4 MiB of
 * WAL: moving them to a worker thread of their own (a second connection) was measured and not
 * kept (docs/architecture.md).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';

/** How the WAL's descriptor is flushed off the main thread; tests substitute a slow or failing one. */
export type DataSync = (fd: number) => Promise<void>;

export interface WalSyncOptions {
  /** Writes of at least this many bytes of lines are flushed on the thread pool, smaller ones at once (default 64 KiB). */
  asyncBytes?: number;
  dataSync?: DataSync;
}

const ASYNC_BYTES = 64 * 1024;

const threadPoolSync: DataSync = (fd) => new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

const noop = (): void => undefined;

export class WalSync {
  private fd: number | undefined;
  /** The flush in flight; settles (never rejects) after it ends. */
  private running: Promise<void> | undefined;
  /** The flush that starts after the one in flight, shared by every caller meanwhile. */
  private queued: Promise<void> | undefined;
  /** Flushes made (tests and diagnostics). */
  flushes = 0;
  private readonly asyncBytes: number;
  private readonly dataSync: DataSync;

  constructor(
    private readonly wal: string,
    options: WalSyncOptions = {},
  ) {
    this.asyncBytes = options.asyncBytes ?? ASYNC_BYTES;
    this.dataSync = options.dataSync ?? threadPoolSync;
  }

  /** Resolves once a write of `bytes` of lines, just committed, is on disk: flushed at once when small, on the thread pool when large. */
  after(bytes: number): Promise<void> {
    if (bytes >= this.asyncBytes) return this.sync();
    try {
      this.syncNow();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** The WAL's descriptor, opened at first use (the WAL exists once a commit was made). */
  private descriptor(): number {
    return (this.fd ??= openSync(this.wal, 'r'));
  }

  /** Flushes the WAL now, on the calling thread. */
  syncNow(): void {
    fdatasyncSync(this.descriptor());
    this.flushes++;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (this.running === undefined) return this.start();
    // The flush in flight may have begun before the caller's commit was written.
    return (this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.start();
    }));
  }

  private start(): Promise<void> {
    const flush = this.flush();
    const running: Promise<void> = flush.then(noop, noop).then(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return flush;
  }

  private async flush(): Promise<void> {
    await this.dataSync(this.descriptor());
    this.flushes++;
  }

  /** Waits for the flushes under way, then lets go of the file. */
  async close(): Promise<void> {
    await this.queued?.catch(noop);
    await this.running;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
