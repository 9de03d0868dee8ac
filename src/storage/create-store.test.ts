import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createStore } from './create-store.js';

it('creates each kind of store from options', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'daniel-factory-')), 'nested', 'data');
  try {
    const memory = await createStore({ kind: 'memory', dataDir });
    expect(memory.kind).toBe('memory');
    const sqlite = await createStore({ kind: 'sqlite', dataDir });
    expect(sqlite.kind).toBe('sqlite');
    await sqlite.ping();
    await sqlite.close();
    await expect(createStore({ kind: 'dynamodb', dataDir })).rejects.toThrow(/needs its table/);
  } finally {
    rmSync(join(dataDir, '..', '..'), { recursive: true, force: true });
  }
});
