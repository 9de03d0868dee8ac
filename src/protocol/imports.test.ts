/**
 * The wire format is importable by every part (Henrik, the CLI, the canary, the web UI): the
 * protocol folder imports nothing of ours outside itself, only libraries and Node built-ins.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('src/protocol imports only itself, libraries and Node built-ins', () => {
  const folder = new URL('.', import.meta.url);
  const outside: string[] = [];
  for (const name of readdirSync(folder).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))) {
    const text = readFileSync(new URL(name, folder), 'utf8');
    for (const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*from\s+'([^']+)'/g)) {
      if (specifier!.startsWith('.') && !/^\.\/[^/]+$/.test(specifier!)) outside.push(`${name} -> ${specifier}`);
    }
  }
  expect(outside).toEqual([]);
});
