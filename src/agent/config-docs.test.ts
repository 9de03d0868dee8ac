import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentConfigSchemas, configFileProblem } from './config-schema.js';

const doc = readFileSync(new URL('../../docs/agent.md', import.meta.url), 'utf8');

/** The rows of the markdown table whose header line is `header`: cells, trimmed. */
function table(header: string): string[][] {
  const start = doc.indexOf(header);
  expect(start, header).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of doc.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

const key = (cell: string): string => cell.replace(/^`|`$/g, '');

describe("docs/agent.md's config tables and the config schema", () => {
  it('the settings table lists exactly the schema keys, each with its default and unit', () => {
    const rows = table('| key | default | unit | |');
    const documented = Object.fromEntries(rows.map(([name, defaultText, unit]) => [key(name!), { default: defaultText, unit }]));
    const { file } = agentConfigSchemas();
    const schema = Object.fromEntries(
      Object.entries(file.properties).map(([name, s]) => [name, { default: (s as Record<string, unknown>)['x-default'], unit: (s as Record<string, unknown>)['x-unit'] }]),
    );
    expect(documented).toEqual(schema);
  });

  it("the source table lists exactly a source's keys, required or optional as the schema says", () => {
    const rows = table('| key | | |');
    const documented = Object.fromEntries(rows.map(([name, required]) => [key(name!), required]));
    const { source } = agentConfigSchemas();
    expect(documented).toEqual(Object.fromEntries(Object.entries(source.properties).map(([name, s]) => [name, (s as Record<string, unknown>)['x-required']])));
    expect(source.required ?? []).toEqual(Object.entries(documented).filter(([, r]) => r === 'required').map(([name]) => name));
  });
});

describe('configFileProblem', () => {
  it.each([
    [{ server: 'http://x', tokn: 't' }, "config: unknown setting 'tokn'"],
    [{ sources: [{ paths: '/x', excludes: [] }] }, "config: sources[0] has unknown setting 'excludes'"],
    [{ sources: [{ paths: '/x', multiline: { begin: 'x' } }] }, "config: sources[0].multiline has unknown setting 'begin'"],
    [{ batchMaxLines: 'many' }, /^config: batchMaxLines /],
    [{ sources: [{ exclude: [] }] }, /^config: sources\[0\] must have paths|^config: sources\[0\]/],
    [{ paths: [1] }, /^config: paths/],
    [[1, 2], 'config: the file must hold a mapping of settings'],
  ])('%j: %s', (table, message) => {
    const problem = configFileProblem(table);
    if (typeof message === 'string') expect(problem).toBe(message);
    else expect(problem).toMatch(message);
  });

  it('a valid file has no problem', () => {
    expect(configFileProblem({ server: 'http://x', spoolMaxBytes: '2GiB', batchMaxLines: 500, sources: [{ paths: ['/a/*.log'], exclude: '*.1', multiline: 'java' }] })).toBeUndefined();
  });
});
