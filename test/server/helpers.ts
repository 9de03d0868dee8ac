/** Shared fixtures for the server tests: an app over a real store, SPEC.md's andynewman example. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { createTokenSet } from '../../src/server/tokens.js';
import { createStore } from '../../src/storage/create-store.js';
import type { Store } from '../../src/storage/store.js';
import type { IngestRequest } from '../../src/protocol/ingest.js';

export const TOKENS = {
  read: 'read-token-0123456789',
  ingest: 'ingest-token-0123456789',
  admin: 'admin-token-0123456789',
};

/** The server tests run on the embedded SQLite store (the default); DANIEL_TEST_STORE=memory runs them on the reference store. */
export function defaultStoreKind(): 'memory' | 'sqlite' {
  return process.env.DANIEL_TEST_STORE === 'memory' ? 'memory' : 'sqlite';
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestApp(
  options: Partial<Omit<AppOptions, 'store' | 'tokens'>> & { storeKind?: 'memory' | 'sqlite' } = {},
): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'daniel-test-'));
  const store = await createStore({ kind: options.storeKind ?? defaultStoreKind(), dataDir });
  const tokens = createTokenSet([
    { scope: 'read', token: TOKENS.read },
    { scope: 'ingest', token: TOKENS.ingest },
    { scope: 'admin', token: TOKENS.admin },
  ]);
  // A short close grace: fetch keeps idle sockets open for 4 s, which would only slow the tests down.
  const app = await buildApp({ ...options, limits: { closeGraceMs: 300, ...options.limits }, store, tokens });
  return {
    app,
    store,
    dataDir,
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const auth = (token: string = TOKENS.admin): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** SPEC.md's example host: three files; "Line one" of syslog at 1639508052.0629189. */
export function andynewmanBatch(): IngestRequest {
  return {
    host: 'andynewman',
    files: [
      {
        file_id: 'dev1:ino1:aaaa',
        filename: 'fsck_apfs_error.log',
        path: '/var/log/fsck_apfs_error.log',
        size: 60,
        lines: [
          { offset: 0, timestamp: '1639508000000000000', line: 'fsck_apfs started' },
          { offset: 18, timestamp: '1639508001000000000', line: 'fsck_apfs error: bad block' },
        ],
      },
      {
        file_id: 'dev1:ino2:bbbb',
        filename: 'syslog',
        path: '/var/log/syslog',
        lines: [
          { offset: 0, timestamp: '1639508052062918900', line: 'Line one' },
          { offset: 9, timestamp: '1639508053000000000', line: 'Line two' },
          { offset: 18, timestamp: '1639508054000000000', line: 'Line three with ERROR' },
        ],
      },
      {
        file_id: 'dev1:ino3:cccc',
        filename: 'other_log',
        path: '/var/log/other_log',
        lines: [{ offset: 0, timestamp: '1639508060000000000', line: 'other line' }],
      },
    ],
  };
}

export async function ingest(app: FastifyInstance, body: unknown, token: string = TOKENS.ingest): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/ingest', headers: { ...auth(token), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

export function expectErrorShape(response: LightMyRequestResponse): { code: string; message: string } {
  const body = response.json<{ error: { code: string; message: string } }>();
  if (typeof body.error?.code !== 'string' || typeof body.error?.message !== 'string') {
    throw new Error(`not the error shape: ${response.body}`);
  }
  return body.error;
}
