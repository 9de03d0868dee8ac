// Builds dist/standalone/henrik.mjs: Henrik as one file (esbuild) that runs with plain
// `node` >= 20 from any folder, with no node_modules and no native code. Part of `npm run build`.
// `--sea`: also tries a single executable (node's --experimental-sea-config and postject),
// which needs postject from npm; it is skipped, with the reason, when that is not there.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/standalone/henrik.mjs`;
const LIMIT = 5 * 1024 * 1024;

mkdirSync(`${root}dist/standalone`, { recursive: true });

/**
 * The config reader loads `yaml` lazily through createRequire (it costs memory an agent
 * without a YAML config never uses); esbuild bundles only a plain require, which it still
 * evaluates lazily, on the first call.
 */
const lazyRequires = {
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

const result = await build({
  entryPoints: [`${root}src/bin/henrik.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  metafile: true,
  // A bundled CommonJS module (yaml) calls require(): give the ES module one.
  banner: { js: "import { createRequire as __henrikRequire } from 'node:module'; const require = __henrikRequire(import.meta.url);" },
  plugins: [lazyRequires],
  logLevel: 'warning',
});
const native = Object.keys(result.metafile.inputs).filter((input) => input.endsWith('.node'));
if (native.length > 0) throw new Error(`build-standalone: native code in the bundle: ${native.join(', ')}`);
chmodSync(outfile, 0o755);
const bytes = statSync(outfile).size;
if (bytes >= LIMIT) throw new Error(`build-standalone: ${outfile} is ${bytes} bytes, over the 5 MiB bound`);
if (process.argv.includes('--verbose')) console.log(`dist/standalone/henrik.mjs: ${(bytes / 1024).toFixed(0)} KiB`);
