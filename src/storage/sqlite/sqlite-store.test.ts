import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '../store.case.js';
import type { Store } from '../store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

function factory(policy: SqliteStoreOptions['policy']) {
  return async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-sqlite-'));
    const opened: Store[] = [];
    const open = async (): Promise<Store> => {
      const store = await SqliteStore.open({ dataDir, ...(policy ? { policy } : {}) });
      opened.push(store);
      return store;
    };
    const store = await open();
    return {
      store,
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };
}

runStoreContract('sqlite', factory(undefined));
// Tiny segments: every append merges or seals, so compaction is exercised by every test.
runStoreContract('sqlite with tiny segments', factory({ sealBytes: 40, directSealBytes: 30 }), { propertyRuns: 60 });
