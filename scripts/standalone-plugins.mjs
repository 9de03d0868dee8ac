// The esbuild plugin shared by the one-file builds (scripts/build-standalone.mjs, scripts/build-sea.mjs).
import { readFileSync } from 'node:fs';

/**
 * The config reader loads `yaml` lazily through createRequire (it costs memory an agent
 * without a YAML config never uses); esbuild bundles only a plain require, which it still
 * evaluates lazily, on the first call.
 */
export const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    // config-schema.ts loads TypeBox the same way: `load('typebox')` becomes a plain require.
    b.onLoad({ filter: /src\/agent\/config-schema\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source
        .replace("const load = createRequire(import.meta.url);", 'const load = (name: string): unknown => (name === "typebox" ? require("typebox") : require("typebox/value"));')
        .replace("import { createRequire } from 'node:module';", '');
      if (!contents.includes('require("typebox")')) throw new Error('build-standalone: the lazy typebox load in src/agent/config-schema.ts changed; update scripts/build-standalone.mjs');
      return { contents, loader: 'ts' };
    });
    b.onLoad({ filter: /src\/agent\/config\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace("createRequire(import.meta.url)('yaml')", "require('yaml')");
      if (contents === source) throw new Error('build-standalone: the lazy yaml require in src/agent/config.ts changed; update scripts/build-standalone.mjs');
      return { contents, loader: 'ts' };
    });
  },
};
