// Builds native/ (the segment bloom builder in C, native/bloom.c, and Daniel's malloc settings,
// native/memory.c) into native/build/Release/: npm install and npm ci run it (the package's `install`
// script). Daniel builds each sealed segment's bloom with it, ingest's largest single cost, and
// restores repacked segments' variable columns with it (src/segment/variable-columns.ts);
// where it cannot be built (no C compiler, no Node headers) Daniel builds the same bytes in
// JavaScript, ingesting more slowly, so a failure here warns and does not stop the install.
// `node scripts/build-native.mjs` builds it again by hand.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'native');
/** Where the running node is installed: npm and, from a distribution's package, the headers live under it. */
const prefix = path.resolve(path.dirname(process.execPath), '..');

/** node-gyp: the one npm runs scripts with, else npm's own copy beside this node. */
function nodeGyp() {
  const given = process.env.npm_config_node_gyp;
  if (given && existsSync(given)) return given;
  const candidates = [path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: npm's copy above, if any
  }
  return candidates.find((candidate) => existsSync(candidate));
}

const gyp = nodeGyp();
if (gyp === undefined) {
  console.warn('build-native: node-gyp not found; Daniel builds segment blooms in JavaScript (slower ingest).');
  process.exit(0);
}
const args = [gyp, 'rebuild'];
// The headers of the running Node: npm's `nodedir` setting, else beside the node binary (a
// distribution's package puts them under <prefix>/include/node); node-gyp would download them.
const nodedir = process.env.npm_config_nodedir || (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const result = spawnSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
const built = path.join(dir, 'build', 'Release', 'bloom.node');
const memory = path.join(dir, 'build', 'Release', 'memory.node');
const why = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-8).join('\n');
if (result.status !== 0 || !existsSync(built)) {
  console.warn(`build-native: native/bloom.c was not built; Daniel builds segment blooms and restores repacked segments in JavaScript (slower ingest and reads).\n${why}`);
  process.exit(0);
}
const addons = existsSync(memory) ? [built, memory] : [built];
if (addons.length === 1) console.warn(`build-native: native/memory.c was not built; Daniel keeps glibc's malloc settings.\n${why}`);
console.log(`build-native: ${addons.map((file) => path.relative(root, file)).join(', ')}`);
