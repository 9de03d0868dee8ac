// Builds dist/sea/henrik: Henrik as a single executable (Node's single-executable
// applications: a copy of this node binary with the agent injected), for machines without
// node. Opt-in, not part of `npm run build`: `npm run build:sea`.
//
// Node 20 runs an executable's script as CommonJS, so the agent is bundled again as one
// CommonJS file (the one-file build's entry and plugin), then node writes the blob and
// postject (npm, devDependency) injects it. `POSTJECT=/path/to/postject` names another.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lazyRequires } from './standalone-plugins.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}dist/sea`;
const script = `${dir}/henrik.cjs`;
const blob = `${dir}/henrik.blob`;
const config = `${dir}/sea-config.json`;
const binary = `${dir}/henrik`;
/** The fuse Node's binaries carry for postject to flip (the same in every release). */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const postject = process.env.POSTJECT ?? `${root}node_modules/.bin/postject`;
if (!existsSync(postject)) {
  console.error(`build-sea: ${postject} is missing: npm install --save-dev postject@1.0.0-alpha.6 (or set POSTJECT)`);
  process.exit(1);
}

mkdirSync(dir, { recursive: true });
await build({
  entryPoints: [`${root}src/bin/henrik.ts`],
  outfile: script,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  // createRequire(import.meta.url) (https and tls, loaded only for an https server) wants a
  // file URL: the executable's own.
  define: { 'import.meta.url': '__henrikUrl' },
  banner: { js: "const __henrikUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [lazyRequires],
  logLevel: 'warning',
});

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build-sea: ${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
    process.exit(1);
  }
};

writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }));
run(process.execPath, ['--experimental-sea-config', config]);
rmSync(binary, { force: true });
copyFileSync(process.execPath, binary);
chmodSync(binary, 0o755);
run(postject, [binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE]);
rmSync(blob);
const check = spawnSync(binary, ['--help'], { encoding: 'utf8' });
if (check.status !== 0 || !check.stdout.startsWith('Usage: henrik')) {
  console.error(`build-sea: ${binary} --help failed: ${check.stderr}`);
  process.exit(1);
}
console.log(`dist/sea/henrik: ${(statSync(binary).size / 1048576).toFixed(1)} MiB (node ${process.version} and the agent)`);
