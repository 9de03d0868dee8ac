/**
 * Real `daniel serve --store dynamodb` processes on one table of a dynalite started for the
 * test file: registers its own beforeAll/afterAll (every Daniel started is killed at the end).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startDynalite, TEST_CREDENTIALS, type Dynalite } from '../../src/storage/dynamodb/dynalite.case.js';
import { startDaniel, type DanielProcess } from '../lib/processes.js';

export interface DanielsOnDynalite {
  /** The dynalite endpoint (after beforeAll). */
  readonly endpoint: string;
  /** Daniel's environment: credentials, token, store, table and endpoint, plus `extraEnv`. */
  readonly env: Record<string, string>;
  /** A data dir for `--data-dir` (the token file; the lines live in the table). */
  readonly dataDir: string;
  serve(): Promise<{ url: string; daniel: DanielProcess }>;
}

export function useDanielsOnDynalite(options: { token: string; table: string; extraEnv?: Record<string, string>; setup?: (endpoint: string) => Promise<void> }): DanielsOnDynalite {
  let dynalite: Dynalite | undefined;
  let dataDir = '';
  let env: Record<string, string> = {};
  const running: DanielProcess[] = [];

  beforeAll(async () => {
    dynalite = await startDynalite();
    dataDir = await mkdtemp(join(tmpdir(), 'daniel-dynamodb-'));
    await options.setup?.(dynalite.endpoint);
    env = {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      DANIEL_TOKENS: `admin:${options.token}`,
      DANIEL_STORE: 'dynamodb',
      DANIEL_DYNAMODB_TABLE: options.table,
      DANIEL_DYNAMODB_ENDPOINT: dynalite.endpoint,
      ...options.extraEnv,
    };
  });

  afterAll(async () => {
    for (const daniel of running) {
      daniel.child.kill('SIGKILL');
      await daniel.exited();
    }
    await dynalite?.close();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  return {
    get endpoint() {
      if (dynalite === undefined) throw new Error('dynalite is not started yet (use it inside a test)');
      return dynalite.endpoint;
    },
    get env() {
      return env;
    },
    get dataDir() {
      return dataDir;
    },
    async serve() {
      const daniel = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], env);
      running.push(daniel);
      const match = await daniel.waitFor(/listening on (http:\/\/\S+)/, 60_000);
      return { url: match[1]!, daniel };
    },
  };
}
