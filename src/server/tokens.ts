/**
 * API tokens and their scopes. Tokens are kept only as SHA-256 digests and compared with
 * `timingSafeEqual` over digests of equal length, so neither the length nor the content of a
 * configured token leaks through response timing.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Scope = 'read' | 'ingest' | 'admin';
/** What a route needs; `admin` tokens satisfy both. */
export type RequiredScope = 'read' | 'ingest';

export interface TokenEntry {
  scope: Scope;
  token: string;
}

/** Who a presented token is: its scope and, for a managed token, its id and bound hosts. */
export interface Principal {
  scope: Scope;
  /** Managed tokens only. */
  id?: string;
  /** Hosts the token is bound to; undefined = every host. */
  hosts?: ReadonlySet<string>;
}

export interface TokenSet {
  /** The scope of a presented token, or undefined when it is not configured. */
  lookup(token: string): Scope | undefined;
  /** The principal of a presented token, or undefined when it is not known. */
  find(token: string): Principal | undefined;
  readonly size: number;
}

const SCOPES: readonly Scope[] = ['read', 'ingest', 'admin'];

export class TokenConfigError extends Error {
  override readonly name = 'TokenConfigError';
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export interface HashedToken {
  hash: Buffer;
  principal: Principal;
}

/** Compares a digest with every candidate; no early exit, whatever matches. */
export function findByDigest(candidates: readonly HashedToken[], presented: Buffer): Principal | undefined {
  let found: Principal | undefined;
  for (const candidate of candidates) {
    if (candidate.hash.length === presented.length && timingSafeEqual(candidate.hash, presented) && found === undefined) {
      found = candidate.principal;
    }
  }
  return found;
}

export function createTokenSet(entries: readonly TokenEntry[]): TokenSet {
  const stored: HashedToken[] = entries.map((entry) => ({ principal: { scope: entry.scope }, hash: digest(entry.token) }));
  return {
    size: stored.length,
    find: (token) => findByDigest(stored, digest(token)),
    lookup: (token) => findByDigest(stored, digest(token))?.scope,
  };
}

export function scopeAllows(scope: Scope, required: RequiredScope | 'admin'): boolean {
  return scope === 'admin' || scope === required;
}

/**
 * Parses `read:TOKEN1,ingest:TOKEN2` or one `scope:token` a line (blank lines and `#` comments
 * skipped). `source` names where the text came from, for the error message.
 */
export function parseTokenList(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const items = text.split(/[,\n]/);
  items.forEach((raw, index) => {
    const item = raw.trim();
    if (item === '' || item.startsWith('#')) return;
    const colon = item.indexOf(':');
    const scope = colon < 0 ? '' : item.slice(0, colon).trim().toLowerCase();
    const token = colon < 0 ? '' : item.slice(colon + 1).trim();
    if (!SCOPES.includes(scope as Scope)) {
      throw new TokenConfigError(
        `${source}: entry ${index + 1} must be scope:token with scope read, ingest or admin`,
      );
    }
    if (token.length < 8 || /\s/.test(token)) {
      throw new TokenConfigError(`${source}: entry ${index + 1} needs a token of at least 8 characters without spaces`);
    }
    entries.push({ scope: scope as Scope, token });
  });
  return entries;
}

export interface GeneratedToken {
  path: string;
  token: string;
  created: boolean;
}

/**
 * The admin token used when none is configured: read from DATA_DIR/token, or created there
 * with 32 random bytes and mode 0600 on first start. `wx` makes a concurrent first start fail
 * instead of overwriting a token another process already handed out.
 */
export async function loadOrCreateTokenFile(dataDir: string): Promise<GeneratedToken> {
  const path = join(dataDir, 'token');
  const existing = await readTokenFile(path);
  if (existing !== undefined) return { path, token: existing, created: false };
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${token}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readTokenFile(path);
      if (raced !== undefined) return { path, token: raced, created: false };
    }
    throw error;
  }
  return { path, token, created: true };
}

async function readTokenFile(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const token = text.trim();
  if (token === '') throw new TokenConfigError(`${path} is empty: delete it to get a new token`);
  return token;
}
