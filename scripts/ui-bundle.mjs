// Bundles the web UI (ui/main.tsx: Preact + uPlot) into ui-dist/: content-hashed, minified
// JS and CSS under ui-dist/ui/, each with a .gz sibling, and an index.html that only
// references them (no inline script or style, so the server's CSP can forbid both).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

function hashed(name, content) {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 10);
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}-${hash}${name.slice(dot)}`;
}

/** Builds into `outDir` (default ui-dist/), replacing it only once the new build is complete. */
export async function build({ outDir = join(root, 'ui-dist'), quiet = false } = {}) {
  const staging = `${outDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(join(staging, 'ui'), { recursive: true });

  const result = await esbuild.build({
    entryPoints: [join(root, 'ui/main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(staging, 'ui'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    absWorkingDir: root,
  });

  const outputs = Object.keys(result.metafile.outputs).map((path) => join(root, path));
  const js = outputs.find((path) => path.endsWith('.js'));
  const css = outputs.find((path) => path.endsWith('.css'));
  if (!js || !css) throw new Error(`ui bundle: expected a .js and a .css output, got ${outputs.join(', ')}`);

  const icon = await readFile(join(root, 'ui/favicon.svg'));
  const iconName = hashed('favicon.svg', icon);
  await writeFile(join(staging, 'ui', iconName), icon);

  const template = await readFile(join(root, 'ui/index.html'), 'utf8');
  const html = template
    .replace('%JS%', `/ui/${basename(js)}`)
    .replace('%CSS%', `/ui/${basename(css)}`)
    .replace('%ICON%', `/ui/${iconName}`);
  await writeFile(join(staging, 'index.html'), html);

  // Precompressed siblings: the server sends these as-is to clients that accept gzip.
  const sizes = {};
  for (const dir of [staging, join(staging, 'ui')]) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(dir, entry.name);
      const raw = await readFile(path);
      const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
      await writeFile(`${path}.gz`, gz);
      sizes[entry.name] = { raw: raw.length, gzip: gz.length };
    }
  }

  await rm(outDir, { recursive: true, force: true });
  await rename(staging, outDir);
  if (!quiet) {
    const total = Object.values(sizes).reduce((sum, s) => sum + s.gzip, 0);
    const list = Object.entries(sizes).map(([name, s]) => `${name} ${s.raw} B (${s.gzip} B gzip)`).join(', ');
    console.log(`ui-dist: ${list}; ${total} B gzip in all`);
  }
  return sizes;
}
