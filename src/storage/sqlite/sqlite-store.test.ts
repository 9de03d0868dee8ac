import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reopenableStore, runStoreContract } from '../store.case.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

function factory(policy: SqliteStoreOptions['policy'], countPool?: SqliteStoreOptions['countPool']) {
  return () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-sqlite-'));
    return reopenableStore(
      () => SqliteStore.open({ dataDir, ...(policy ? { policy } : {}), ...(countPool ? { countPool } : {}) }),
      () => rmSync(dataDir, { recursive: true, force: true }),
    );
  };
}

runStoreContract('sqlite', factory(undefined));
// Tiny segments: every append merges or seals, so compaction is exercised by every test.
runStoreContract('sqlite with tiny segments', factory({ sealBytes: 40, directSealBytes: 30 }), { propertyRuns: 60 });
// Every histogram hands segments to a count worker, one per job, while counting others itself.
runStoreContract('sqlite counting in a worker', factory({ sealBytes: 40, directSealBytes: 30 }, { workers: 1, minBytes: 0, jobBytes: 1, waitForWorkers: true }), { propertyRuns: 30 });
