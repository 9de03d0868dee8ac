import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reopenableStore, runStoreContract } from '../store.case.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

function factory(policy: SqliteStoreOptions['policy']) {
  return () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-sqlite-'));
    return reopenableStore(
      () => SqliteStore.open({ dataDir, ...(policy ? { policy } : {}) }),
      () => rmSync(dataDir, { recursive: true, force: true }),
    );
  };
}

runStoreContract('sqlite', factory(undefined));
// Tiny segments: every append merges or seals, so compaction is exercised by every test.
runStoreContract('sqlite with tiny segments', factory({ sealBytes: 40, directSealBytes: 30 }), { propertyRuns: 60 });
