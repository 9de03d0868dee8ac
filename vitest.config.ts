import { defineConfig } from 'vitest/config';

/** Regex search runs on V8's linear-time engine, a flag set when a process starts (src/query/matcher.ts). */
const LINEAR_REGEX_FLAG = '--enable-experimental-regexp-engine';
const BROWSER = ['test/ui/browser*.test.ts'];

/**
 * Three projects, all run by `npm test` (after a build):
 * - unit: in one process, no build needed (`npm run test:unit`): the tests beside the code,
 *   the UI's modules, the lint rules;
 * - system: real processes (daniel, henrik, dynalite) from dist/ or through tsx;
 * - browser: the web UI in a real chromium against a real daniel.
 * One of them: `npx vitest run --project unit`; one file: `npx vitest run path/to/file.test.ts`.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    execArgv: [LINEAR_REGEX_FLAG],
    setupFiles: ['test/setup/fast-check-seed.ts'],
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts', 'test/lint/**/*.test.ts', 'test/ui/**/*.test.ts'], exclude: BROWSER } },
      { extends: true, test: { name: 'system', include: ['test/**/*.test.ts'], exclude: ['test/lint/**', 'test/ui/**'] } },
      { extends: true, test: { name: 'browser', include: BROWSER } },
    ],
  },
});
