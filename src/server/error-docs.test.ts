import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { errorCatalogue } from '../common/errors.js';

test("docs/api.md's error-code table lists exactly the catalogue's codes with their statuses", () => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const section = doc.split('## Error codes')[1]?.split('\n## ')[0] ?? '';
  const rows = [...section.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  const catalogue = Object.entries(errorCatalogue).map(([code, entry]) => [code, entry.status]);
  expect(rows.sort()).toEqual(catalogue.sort());
});
