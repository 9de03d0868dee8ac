// Builds dist/standalone/henrik.mjs: Henrik as one file (esbuild) that runs with plain
// `node` >= 20 from any folder, with no node_modules and no native code. Part of `npm run build`.
// The single executable is built apart, on request: scripts/build-sea.mjs (`npm run build:sea`).
import { build } from 'esbuild';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { lazyRequires } from './standalone-plugins.mjs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/standalone/henrik.mjs`;
const LIMIT = 5 * 1024 * 1024;

mkdirSync(`${root}dist/standalone`, { recursive: true });

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
