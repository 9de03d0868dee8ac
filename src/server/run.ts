/**
 * `daniel serve` after its flags are parsed: tokens, store, app, listen, retention sweeps,
 * and an orderly close. The bin wires signals to `close()`; tests call it in process.
 */
import { readFile } from 'node:fs/promises';
import { makePrivate } from '../common/private-files.js';
import type { Server as TlsServer } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { nowNs } from '../common/time.js';
import { openSqliteAlertStore, type AlertStore } from '../alerts/alert-store.js';
import { openDynamoAlertStore } from '../alerts/alert-store-dynamodb.js';
import { createStore } from '../storage/create-store.js';
import type { Store } from '../storage/store.js';
import { buildApp, pushSinkOf } from './app.js';
import { ConfigError, reloadedConfig, type ServeConfig } from './config.js';
import type { FormatCheck } from '../storage/data-format.js';
import { IdentityBudget } from './identity-budget.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { createServerLog } from './log.js';
import { startSyslogInputs, type SyslogInputs } from './syslog-inputs.js';
import { TokenRegistry } from './token-registry.js';
import { openTokenStore, tokenStoreLocation } from './token-store.js';
import { loadOrCreateTokenFile, parseTokenList, TokenConfigError, type TokenEntry } from './tokens.js';

export interface ServerOutput {
  /** One line for the user (stdout). */
  info(line: string): void;
  /** One line about a problem (stderr). */
  warn(line: string): void;
}

export interface RunningServer {
  url: string;
  store: Store;
  /**
   * SIGHUP: applies what can change live (LIVE_SETTINGS: the configured tokens, the TLS
   * files, retention, log level, files per host per day), says which changed settings need a
   * restart, and keeps every running setting when anything of `config` is unusable. Open
   * connections stay.
   */
  reload(config?: ServeConfig): Promise<void>;
  close(): Promise<void>;
}

interface TlsFiles {
  key: Buffer;
  cert: Buffer;
  clientCa?: Buffer;
}

async function readTls(config: ServeConfig): Promise<TlsFiles | undefined> {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const read = async (file: string, where: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new ConfigError(`${where} ${file} cannot be read: ${(error as Error).message}`);
    }
  };
  const files: TlsFiles = {
    cert: await read(config.tlsCert, '--tls-cert / DANIEL_TLS_CERT'),
    key: await read(config.tlsKey, '--tls-key / DANIEL_TLS_KEY'),
  };
  if (config.tlsClientCa !== undefined) files.clientCa = await read(config.tlsClientCa, '--tls-client-ca / DANIEL_TLS_CLIENT_CA');
  try {
    createSecureContext({ key: files.key, cert: files.cert, ...(files.clientCa === undefined ? {} : { ca: files.clientCa }) });
  } catch (error) {
    throw new ConfigError(`--tls-cert / --tls-key: ${(error as Error).message}`);
  }
  return files;
}

/** Retention sweeps: often enough that lines do not outstay much, rarely enough to cost nothing. */
const RETENTION_SWEEP_MAX_MS = 10 * 60_000;

/** The configured tokens: DANIEL_TOKENS, --tokens-file, or else the generated admin token. */
export async function configuredTokens(config: ServeConfig, output: ServerOutput): Promise<TokenEntry[]> {
  const entries: TokenEntry[] = [];
  try {
    if (config.tokensEnv !== undefined) entries.push(...parseTokenList(config.tokensEnv, 'DANIEL_TOKENS'));
    if (config.tokensFile !== undefined) {
      let text: string;
      try {
        text = await readFile(config.tokensFile, 'utf8');
      } catch (error) {
        throw new ConfigError(`--tokens-file / DANIEL_TOKENS_FILE ${config.tokensFile} cannot be read: ${(error as Error).message}`);
      }
      entries.push(...parseTokenList(text, config.tokensFile));
    }
  } catch (error) {
    if (error instanceof TokenConfigError) throw new ConfigError(error.message);
    throw error;
  }
  if (entries.length > 0) {
    output.info(`tokens: ${entries.length} configured`);
    return entries;
  }
  const generated = await loadOrCreateTokenFile(config.dataDir);
  output.info(`admin token ${generated.created ? 'created in' : 'in'} ${generated.path}`);
  return [{ scope: 'admin', token: generated.token }];
}


async function chmodStoreFiles(dataDir: string): Promise<void> {
  const { chmod } = await import('node:fs/promises');
  const path = await import('node:path');
  for (const name of ['daniel.db', 'daniel.db-wal', 'daniel.db-shm', 'token', 'tokens.db', 'tokens.db-wal', 'tokens.db-shm', 'alerts.db', 'alerts.db-wal', 'alerts.db-shm']) {
    await chmod(path.join(dataDir, name), 0o600).catch(() => undefined);
  }
}

function urlOf(address: AddressInfo | string | null, fallbackHost: string, scheme: 'http' | 'https'): string {
  if (address === null || typeof address === 'string') return `${scheme}://${fallbackHost}`;
  const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

export async function startServer(config: ServeConfig, output: ServerOutput): Promise<RunningServer> {
  try {
    await makePrivate(config.dataDir);
  } catch (error) {
    throw new ConfigError(`--data-dir / DANIEL_DATA_DIR ${config.dataDir} cannot be created: ${(error as Error).message}`);
  }
  // One Daniel per SQLite data dir (data-dir-lock.ts); DynamoDB Daniels share a table by design.
  const lock: DataDirLock | undefined = config.store === 'sqlite' ? lockDataDir(config.dataDir) : undefined;
  try {
    return await startLocked(config, output, lock);
  } catch (error) {
    lock?.release();
    throw error;
  }
}

async function startLocked(config: ServeConfig, output: ServerOutput, lock: DataDirLock | undefined): Promise<RunningServer> {
  const entries = await configuredTokens(config, output);
  const tls = await readTls(config);
  const store = await createStore({
    kind: config.store,
    dataDir: config.dataDir,
    dynamodb: {
      table: config.dynamodbTable,
      region: config.region,
      retentionNs: config.retentionNs,
      shards: config.dynamodbShards,
      ...(config.dynamodbSettleMs === undefined ? {} : { settleMs: config.dynamodbSettleMs }),
      headLines: config.dynamodbHeadLines,
      ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
    },
  });
  const format = (store as { dataFormat?: FormatCheck }).dataFormat;
  if (format !== undefined && format.upgraded.length > 0) output.info(`data format upgraded: ${format.upgraded.join('; ')}`);
  // The store's files (daniel.db, -wal, -shm) as well: 0600 even when made by an older version.
  await makePrivate(config.dataDir, 0).then(() => chmodStoreFiles(config.dataDir));
  let tokens: TokenRegistry;
  const log = createServerLog({ level: config.logLevel });
  try {
    tokens = new TokenRegistry(await openTokenStore(tokenStoreLocation(config)), entries, log);
    await tokens.start();
  } catch (error) {
    await store.close();
    throw error;
  }
  let alerts: AlertStore;
  try {
    // On DynamoDB the rules and their state live in the table, shared by every Daniel on it (one evaluates: a lease).
    const location = tokenStoreLocation(config);
    alerts = config.store === 'dynamodb' && location.dynamodb !== undefined ? await openDynamoAlertStore(location.dynamodb) : await openSqliteAlertStore(config.dataDir);
  } catch (error) {
    await tokens.close();
    await store.close();
    throw error;
  }
  const identities = new IdentityBudget(config.maxFilesPerHostDay);
  const app = await buildApp({
    store,
    tokens,
    alerts: { store: alerts },
    identityBudget: identities,
    bodyLimitBytes: config.bodyLimitBytes,
    log,
    requestLog: { all: config.logRequests },
    limits: {
      closeGraceMs: config.shutdownGraceMs,
      maxConnections: config.maxConnections,
      maxQueries: config.maxQueries,
      maxQueriesPerToken: config.maxQueriesPerToken,
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    },
    trustedProxies: config.trustedProxies,
    ...(tls === undefined ? {} : { https: tls }),
  });
  try {
    await app.listen({ host: config.listenHost, port: config.listenPort });
  } catch (error) {
    await app.close();
    await alerts.close();
    await tokens.close();
    await store.close();
    throw error;
  }
  const url = urlOf(app.server.address(), `${config.listenHost}:${config.listenPort}`, tls === undefined ? 'http' : 'https');
  // Links in notifications point at the web UI as Daniel serves it (DANIEL_PUBLIC_URL when behind a proxy).
  if (app.alertEngine) app.alertEngine.baseUrl = process.env.DANIEL_PUBLIC_URL ?? url;

  let running = config;
  let sweeping: Promise<void> | undefined;
  const sweep = (): void => {
    if (sweeping) return;
    sweeping = store
      .deleteArrivedBefore(nowNs() - running.retentionNs)
      .then(() => undefined)
      .catch((error: unknown) => output.warn(`retention sweep failed: ${(error as Error).message}`))
      .finally(() => {
        sweeping = undefined;
      });
  };
  const sweepEveryMs = Math.min(RETENTION_SWEEP_MAX_MS, Number(config.retentionNs / 10_000_000n));
  const timer = setInterval(sweep, sweepEveryMs);
  timer.unref();
  sweep();

  output.info(`listening on ${url}`);
  let syslog: SyslogInputs | undefined;
  try {
    syslog = await startSyslogInputs(config.syslog, pushSinkOf(app), log, (line) => output.info(line));
  } catch (error) {
    clearInterval(timer);
    await app.close();
    await sweeping;
    await tokens.close();
    await store.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    async reload(next: ServeConfig = running) {
      // Everything is read and checked before anything is applied: a reload that fails changes nothing.
      if ((tls === undefined) !== (next.tlsCert === undefined)) {
        throw new ConfigError(`TLS cannot be turned ${tls === undefined ? 'on' : 'off'} by a reload: restart Daniel`);
      }
      const entries = await configuredTokens(next, output);
      const files = tls === undefined ? undefined : await readTls(next);
      tokens.setConfigured(entries);
      await tokens.refresh();
      await syslog?.reload(next.syslog);
      if (files !== undefined) {
        (app.server as unknown as TlsServer).setSecureContext({
          key: files.key,
          cert: files.cert,
          minVersion: 'TLSv1.2',
          ...(files.clientCa === undefined ? {} : { ca: files.clientCa }),
        });
      }
      log.setLevel(next.logLevel);
      identities.limit = next.maxFilesPerHostDay;
      // The restart-only settings keep their running values, so a later reload compares with what runs.
      const reloaded = reloadedConfig(running, next);
      const restartOnly = reloaded.restartOnly;
      running = reloaded.config;
      output.info(
        `reloaded: tokens${tls === undefined ? '' : ', TLS certificate'}${config.syslog.tls === undefined ? '' : ', syslog TLS certificate'}, retention, log level ${running.logLevel}, files per host per day ${running.maxFilesPerHostDay}`,
      );
      if (restartOnly.length > 0) output.warn(`changed, takes effect at the next restart: ${restartOnly.join(', ')}`);
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        // Syslog first: what its listeners hold is pushed while the store is still open.
        await syslog?.close();
        await app.close();
        await sweeping;
        await alerts.close();
        await tokens.close();
        await store.close();
        lock?.release();
      })();
      return closing;
    },
  };
}
