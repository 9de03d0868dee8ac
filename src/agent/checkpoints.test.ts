import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyCheckpoints, loadCheckpoints, saveCheckpoints, type Checkpoints } from './checkpoints.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-cp-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sample = (offset: number): Checkpoints => ({
  version: 1,
  spool: { segment: 2, offset: 40 },
  files: [{ id: 'f1', path: '/x/a.log', filename: 'a.log', sourceIndex: 0, dev: 1, ino: 2, prefixLength: 4, prefixHash: 'ab', offset }],
});

describe('checkpoints', () => {
  it('starts empty when there is no file', async () => {
    expect(await loadCheckpoints(path.join(dir, 'checkpoints.json'))).toEqual(emptyCheckpoints());
  });

  it('round-trips and leaves no temp file behind', async () => {
    const file = path.join(dir, 'checkpoints.json');
    await saveCheckpoints(file, sample(10));
    await saveCheckpoints(file, sample(20));
    expect(await loadCheckpoints(file)).toEqual(sample(20));
    expect(readdirSync(dir)).toEqual(['checkpoints.json']);
  });

  it('concurrent saves never leave a torn file: every read sees a whole state', async () => {
    const file = path.join(dir, 'checkpoints.json');
    await saveCheckpoints(file, sample(0));
    const writes = Array.from({ length: 20 }, (_, i) => saveCheckpoints(file, sample(i + 1)).catch(() => {}));
    const reads = Array.from({ length: 20 }, () => loadCheckpoints(file));
    await Promise.all(writes);
    for (const state of await Promise.all(reads)) expect(state.files[0]!.id).toBe('f1');
  });

  it('refuses a corrupt file with a sentence saying what to do', async () => {
    const file = path.join(dir, 'checkpoints.json');
    writeFileSync(file, '{"version":1,"files":[');
    await expect(loadCheckpoints(file)).rejects.toThrow(/not valid JSON; move it away/);
  });

  it('refuses offsets and positions that are not byte offsets, naming the field', async () => {
    const file = path.join(dir, 'checkpoints.json');
    for (const [bad, message] of [
      [{ ...sample(-1) }, /files\[0\]\.offset \(-1\)/],
      [{ ...sample(1.5) }, /files\[0\]\.offset \(1\.5\)/],
      [{ ...sample(10), spool: { segment: -1, offset: 0 } }, /spool position/],
      [{ ...sample(10), files: [{ ...sample(10).files[0]!, lastTimestamp: 'soon' }] }, /lastTimestamp/],
    ] as const) {
      writeFileSync(file, JSON.stringify(bad));
      await expect(loadCheckpoints(file)).rejects.toThrow(message);
    }
  });
});
