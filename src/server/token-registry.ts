/**
 * The tokens a running Daniel accepts: the configured ones (DANIEL_TOKENS, --tokens-file or
 * the generated admin token, replaced on SIGHUP) and the managed ones, re-read from their
 * store every `refreshMs` so a create or revoke made anywhere is honoured within 2 s.
 *
 * When the managed store cannot be read, the last list read stays in force (a revoke made
 * during a DynamoDB outage takes effect when the table answers again); a warning is logged.
 */
import type { ServerLog } from './log.js';
import type { ManagedTokenStore, TokenRecord } from './token-store.js';
import { tokenDigest } from './token-store.js';
import { createTokenSet, findByDigest, type HashedToken, type Principal, type Scope, type TokenEntry, type TokenSet } from './tokens.js';

export const DEFAULT_TOKEN_REFRESH_MS = 1000;
/** Last use is written back at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

export class TokenRegistry implements TokenSet {
  private configured: HashedToken[] = [];
  private managed: HashedToken[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly used = new Map<string, number>();
  private readonly written = new Map<string, number>();
  private failing = false;

  constructor(
    readonly store: ManagedTokenStore | undefined,
    entries: readonly TokenEntry[],
    private readonly log?: ServerLog,
  ) {
    this.setConfigured(entries);
  }

  /** Replaces the configured tokens (SIGHUP). */
  setConfigured(entries: readonly TokenEntry[]): void {
    this.configured = entries.map((entry) => ({ hash: tokenDigest(entry.token), principal: { scope: entry.scope } }));
  }

  get size(): number {
    return this.configured.length + this.managed.length;
  }

  get managedCount(): number {
    return this.managed.length;
  }

  find(token: string): Principal | undefined {
    const presented = tokenDigest(token);
    // Both lists are always compared in full: no timing difference between them.
    const fromConfig = findByDigest(this.configured, presented);
    const fromStore = findByDigest(this.managed, presented);
    const found = fromConfig ?? fromStore;
    if (found?.id !== undefined) this.used.set(found.id, Date.now());
    return found;
  }

  lookup(token: string): Scope | undefined {
    return this.find(token)?.scope;
  }

  /** Reads the managed list now. */
  async refresh(): Promise<void> {
    if (this.store === undefined) return;
    this.refreshing ??= (async () => {
      try {
        const records = await this.store!.list();
        this.managed = records.map(toHashed);
        if (this.failing) this.log?.warn('managed tokens readable again', { where: this.store!.where });
        this.failing = false;
        await this.flushUse();
      } catch (error) {
        if (!this.failing) this.log?.warn('cannot read managed tokens; the last list read stays in force', { error: (error as Error).message });
        this.failing = true;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  async start(refreshMs: number = DEFAULT_TOKEN_REFRESH_MS): Promise<void> {
    await this.refresh();
    if (this.store === undefined) return;
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  private async flushUse(): Promise<void> {
    if (this.store === undefined) return;
    for (const [id, atMs] of this.used) {
      const written = this.written.get(id) ?? 0;
      if (atMs - written < TOUCH_EVERY_MS) continue;
      this.written.set(id, atMs);
      await this.store.touch(id, atMs);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    for (const id of this.used.keys()) this.written.set(id, 0);
    try {
      await this.flushUse();
    } catch {
      // Last use is advisory; a store that is gone at close loses at most a minute of it.
    }
    await this.store?.close();
  }
}

function toHashed(record: TokenRecord): HashedToken {
  const principal: Principal = { scope: record.scope, id: record.id };
  if (record.hosts.length > 0) principal.hosts = new Set(record.hosts);
  return { hash: record.hash, principal };
}

export { createTokenSet };
