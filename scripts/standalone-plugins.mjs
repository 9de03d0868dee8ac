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
    // Built-in modules are required, not imported: an ES import of one (node:crypto,
    // node:buffer) makes Node build its ES facade, which reads every export, and so loads
    // modules behind lazy getters that the agent never uses (webcrypto, File and its MIME
    // parser): about 0.7 MiB of an idle agent's memory. A require reads only what is used.
    // (The CommonJS build, scripts/build-sea.mjs, requires them anyway.)
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'import-statement' ? { path: args.path, namespace: 'node-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    // config-schema.ts loads TypeBox the same way: `load('typebox')` becomes a plain require.
    b.onLoad({ filter: /src\/agent\/config-schema\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source
        .replace("const load = createRequire(import.meta.url);", 'const load = (name: string): unknown => (name === "typebox" ? require("typebox") : require("typebox/value"));')
        .replace("import { createRequire } from 'node:module';", '');
      if (!contents.includes('require("typebox")')) throw new Error('build-standalone: the lazy typebox load in src/agent/config-schema.ts changed; update scripts/build-standalone.mjs');
      return { contents, loader: 'ts' };
    });
    // The one-file builds carry no native addon, wherever the file is put (even beside a
    // node_modules that has one): Henrik's zstd is left out, and batches go as brotli.
    b.onLoad({ filter: /src\/agent\/wire-body\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace("createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding", 'null as unknown as ZstdBinding');
      if (contents === source) throw new Error('build-standalone: the zstd require in src/agent/wire-body.ts changed; update scripts/standalone-plugins.mjs');
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
