/**
 * The import layers are enforced by `npm run lint`: ESLint's Node API with the project's own
 * eslint.config.js, on a source text placed (by path) in a layer folder. An import against
 * the layers is an error; the same module's allowed imports are not.
 */
import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let eslint: ESLint;

beforeAll(() => {
  // The project's config, but only the import rule and without type information: the
  // type-aware rules would cost the whole program's type check and say nothing here.
  eslint = new ESLint({
    cwd: root,
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  });
});

/** The messages of `no-restricted-imports` for `code` linted as if it were the file at `file`. */
async function importErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const wrong: [string, string, string][] = [
  ['query imports storage', 'src/query/order.ts', "import type { Store } from '../storage/store.js';\nexport type S = Store;\n"],
  ['segment imports query', 'src/segment/meta.ts', "import type { SegmentBackend } from '../query/backend.js';\nexport type B = SegmentBackend;\n"],
  ['storage imports server', 'src/storage/sqlite/segment-writer.ts', "import type { ServerDeps } from '../../server/context.js';\nexport type D = ServerDeps;\n"],
  ['the agent imports the query engine', 'src/agent/tailer/tailer.ts', "import type { StoredLine } from '../../query/types.js';\nexport type L = StoredLine;\n"],
  ['the CLI imports the query engine', 'src/cli/logs.ts', "import { lineCursorOf } from '../query/cursor.js';\nexport const f = lineCursorOf;\n"],
  ['protocol imports common', 'src/protocol/api.ts', "import { AppError } from '../common/errors.js';\nexport const E = AppError;\n"],
  ['a module re-exports across layers', 'src/query/order.ts', "export type { Store } from '../storage/store.js';\n"],
  ['production code imports a test helper', 'src/server/app.ts', "import { startDaniel } from '../../test/server/helpers.js';\nexport const s = startDaniel;\n"],
  ['the UI imports the server', 'ui/format.ts', "import type { ServerDeps } from '../src/server/context.js';\nexport type D = ServerDeps;\n"],
];

describe('npm run lint enforces the layers', () => {
  it.each(wrong)('%s: an error', async (_name, file, code) => {
    const errors = await importErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/may (only import|import only|not import)/);
  });

  it('allowed imports pass', async () => {
    expect(await importErrors('src/query/order.ts', "import type { SegmentMeta } from '../segment/meta.js';\nimport { msToNs } from '../common/time.js';\nexport type M = SegmentMeta;\nexport const f = msToNs;\n")).toEqual([]);
    expect(await importErrors('src/server/app.ts', "import type { Store } from '../storage/store.js';\nimport type { StoredLine } from '../query/types.js';\nexport type S = Store | StoredLine;\n")).toEqual([]);
    expect(await importErrors('src/storage/sqlite/segment-writer.ts', "import type { SegmentMeta } from '../../query/backend.js';\nimport type { AppendLine } from '../store.js';\nexport type M = SegmentMeta | AppendLine;\n")).toEqual([]);
    expect(await importErrors('src/agent/tailer/tailer.ts', "import type { IngestRequest } from '../../protocol/ingest.js';\nimport type { StampedLine } from '../batcher.js';\nexport type R = IngestRequest | StampedLine;\n")).toEqual([]);
    expect(await importErrors('ui/format.ts', "import type { LogEntry } from '../src/protocol/api.js';\nexport type E = LogEntry;\n")).toEqual([]);
  });

  it('tests may reach across layers to drive real parts', async () => {
    expect(await importErrors('src/query/cursor.test.ts', "import type { Store } from '../storage/store.js';\nexport type S = Store;\n")).toEqual([]);
  });
});
