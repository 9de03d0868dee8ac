/** Where the harness reads from and writes to, resolved from the repo root. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Generated data, data dirs and state dirs: gitignored, never committed. */
export const workDir = path.join(repoRoot, 'bench', '.work');
export const resultsDir = path.join(repoRoot, 'bench', 'results');
export const docsFile = path.join(repoRoot, 'docs', 'benchmarks.md');
export const danielBin = path.join(repoRoot, 'dist', 'bin', 'daniel.js');
export const henrikBin = path.join(repoRoot, 'dist', 'bin', 'henrik.js');

/** The real-format sample logs: `../shared/data/loghub` beside the repo, else the shared mount. */
export function loghubDir(): string {
  const candidates = [path.resolve(repoRoot, '..', 'shared', 'data', 'loghub'), '/work/shared/data/loghub'];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found) throw new Error(`loghub sample logs not found in ${candidates.join(' or ')}`);
  return found;
}
