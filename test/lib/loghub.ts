/**
 * The loghub 2k samples (../shared/data/loghub, read in place, never copied) and their
 * `_structured.csv` ground truth, for the tests that check the agent and the field
 * extraction against them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the samples are, or undefined (the tests that need them are skipped). */
export const loghubDir = [join(repoRoot, '..', 'shared', 'data', 'loghub'), '/work/shared/data/loghub'].find((dir) => existsSync(dir));

export type Row = Record<string, string>;

/** RFC 4180 CSV: quoted fields, doubled quotes, newlines inside quotes. */
export function parseCsv(text: string): Row[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field); records.push(record); record = []; field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) { record.push(field); records.push(record); }
  const [header, ...rows] = records;
  return rows.map((values) => Object.fromEntries(header!.map((name, index) => [name, values[index] ?? ''])));
}

/** One system's sample: its lines (without line ends) and its structured rows. */
export function loghubSample(dir: string, system: string): { lines: string[]; rows: Row[] } {
  const lines = readFileSync(join(dir, system, `${system}_2k.log`), 'utf8').replace(/\n$/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  const rows = parseCsv(readFileSync(join(dir, system, `${system}_2k.log_structured.csv`), 'utf8'));
  return { lines, rows };
}
