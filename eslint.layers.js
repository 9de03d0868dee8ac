/**
 * The layers of src/ and the one direction of their imports (docs/architecture.md, "Layout"),
 * as ESLint `no-restricted-imports` rules: a module may import its own folder and the folders
 * listed for it, nothing else of ours. Tests (`*.test.ts`, `*.case.ts`) may reach across
 * layers to drive real parts; no production module may import test/. `src/bin/` wires
 * everything together and is free. eslint.config.js applies these; test/lint/layers.test.ts proves
 * that a wrong import fails `npm run lint`.
 */

/** Folder under src/ -> the folders under src/ it may import (besides itself). */
export const LAYERS = {
  protocol: [],
  common: [],
  segment: ['protocol', 'common'],
  query: ['segment', 'protocol', 'common'],
  storage: ['query', 'segment', 'protocol', 'common'],
  server: ['alerts', 'inputs', 'storage', 'query', 'protocol', 'common'],
  alerts: ['storage', 'query', 'protocol', 'common'],
  inputs: ['protocol', 'common'],
  agent: ['protocol', 'common'],
  cli: ['protocol', 'common'],
  canary: ['protocol', 'common'],
};

const ROOT_FOLDERS = [...Object.keys(LAYERS), 'bin'];
const TEST_FILES = ['**/*.test.ts', '**/*.case.ts', '**/*.fixture.ts'];
/** Import paths are relative, so a rule is written per depth below src/<layer>/. */
const MAX_DEPTH = 4;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function layerBlocks(layer, allowed) {
  const forbidden = ROOT_FOLDERS.filter((name) => name !== layer && !allowed.includes(name));
  const blocks = [];
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const up = '\\.\\./'.repeat(depth);
    const patterns = [
      {
        regex: `^${up}(${forbidden.map(escape).join('|')})(/|$)`,
        message: `src/${layer}/ may import only ${allowed.length === 0 ? 'its own folder' : allowed.map((name) => `src/${name}/`).join(', ')} (docs/architecture.md, "Layout")`,
      },
      // Out of src/ altogether: the test helpers, the UI, the bench.
      { regex: `^${up}\\.\\./`, message: `src/${layer}/ may not import from outside src/` },
    ];
    if (forbidden.length === 0) patterns.shift();
    blocks.push({
      files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
      ignores: TEST_FILES,
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    });
  }
  return blocks;
}

export const layerRules = [
  ...Object.entries(LAYERS).flatMap(([layer, allowed]) => layerBlocks(layer, allowed)),
  {
    // The web UI is bundled for the browser: of src/ it may import the API's shapes only.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+src/(?!protocol/)', message: 'ui/ may import only src/protocol/ of src/' }] }],
    },
  },
];
