// `npm start`: build if needed, run Daniel on 127.0.0.1:3032 with its data in ./data and a
// Henrik over this machine's readable logs plus the bundled samples/, print the URL, the
// token and a first query. Henrik gets its own ingest token bound to this machine's host
// name, through a 0600 file named in its environment: nothing secret is on a command line. Ctrl-C stops both cleanly (Henrik first, so it flushes to Daniel).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = resolve(process.env.DANIEL_DATA_DIR ?? join(root, 'data'));
const listen = process.env.DANIEL_LISTEN ?? '127.0.0.1:3032';
const bins = { daniel: join(root, 'dist/bin/daniel.js'), henrik: join(root, 'dist/bin/henrik.js') };

/** Newest modification time of the sources that end up in dist/. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function needsBuild() {
  if (!existsSync(bins.daniel) || !existsSync(bins.henrik)) return true;
  const built = Math.min(statSync(bins.daniel).mtimeMs, statSync(bins.henrik).mtimeMs);
  return newestSource(join(root, 'src')) > built;
}

function readable(path) {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** What of /var/log this user can read: *.log, syslog, messages. */
function systemLogs() {
  let names = [];
  try {
    names = readdirSync('/var/log');
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.log') || name === 'syslog' || name === 'messages')
    .map((name) => join('/var/log', name))
    .filter(readable)
    .sort();
}

/** The systemd journal, when journalctl shows this user an entry of it (user in adm or systemd-journal, or root). */
function journalReadable() {
  const probe = spawnSync('journalctl', ['--quiet', '--lines=1', '--output=cat', '--no-pager'], { encoding: 'utf8', timeout: 10_000 });
  return probe.status === 0 && probe.stdout.trim() !== '';
}

/** The token to show: the one in DANIEL_TOKENS (admin first), else the generated ./data/token. */
function readToken() {
  const configured = (process.env.DANIEL_TOKENS ?? '').split(',').map((pair) => pair.trim().split(':'));
  const pick = configured.find(([scope]) => scope === 'admin') ?? configured.find(([scope]) => scope === 'ingest');
  if (pick?.[1]) return pick.slice(1).join(':');
  const text = readFileSync(join(dataDir, 'token'), 'utf8').trim().split('\n')[0] ?? '';
  const scoped = /^(admin|ingest|read):(.+)$/.exec(text);
  return scoped ? scoped[2] : text;
}

/** Runs a bin in its own process group (so Ctrl-C reaches it once, from us), output prefixed. */
function startChild(name, args, onLine, env = {}) {
  // Daniel's regex search runs on V8's linear-time engine, a flag set at start-up (as daniel's shebang does).
  const nodeArgs = name === 'daniel' ? ['--enable-experimental-regexp-engine'] : [];
  const child = spawn(process.execPath, [...nodeArgs, bins[name], ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        process.stdout.write(`[${name}] ${line}\n`);
        onLine?.(line);
      }
    });
  }
  child.exitStatus = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

async function stop(child, timeoutMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await child.exitStatus;
  clearTimeout(timer);
}

if (process.env.START_SKIP_BUILD !== '1' && needsBuild()) {
  console.log('building (dist/ is missing or older than src/)…');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

/** Henrik's own token: ingest only, bound to its host; kept in DATA_DIR/henrik-token (0600). */
const henrikHost = process.env.HENRIK_HOST ?? hostname();
const henrikTokenPath = join(dataDir, 'henrik-token');
function createHenrikToken() {
  const made = spawnSync(process.execPath, [bins.daniel, 'token', 'create', '--scope', 'ingest', '--host', henrikHost, '--name', `npm start: henrik on ${henrikHost}`, '--data-dir', dataDir], { cwd: root, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`daniel token create failed: ${made.stderr.trim()}`);
  writeFileSync(henrikTokenPath, made.stdout, { mode: 0o600 });
  return made.stdout.trim();
}
// Made before Daniel starts, so Daniel knows it from its first request on.
try {
  if (!existsSync(henrikTokenPath)) createHenrikToken();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}

let url;
const listening = new Promise((resolve) => {
  const daniel = startChild('daniel', ['serve', '--listen', listen, '--data-dir', dataDir], (line) => {
    const match = /listening on (http:\/\/\S+)/.exec(line);
    if (match && url === undefined) {
      url = match[1].replace(/\/+$/, '').replace('//0.0.0.0:', '//127.0.0.1:');
      resolve(daniel);
    }
  });
  void daniel.exitStatus.then(({ code, signal }) => {
    if (url === undefined) {
      console.error(`daniel exited before listening (code ${code}, signal ${signal}); is ${listen} already in use?`);
      process.exit(1);
    }
  });
});
const daniel = await listening;
// The token file is written at start; give a slow disk a moment before giving up.
let token;
for (let attempt = 0; token === undefined; attempt++) {
  try {
    token = readToken();
  } catch (error) {
    if (attempt >= 50) {
      console.error(`no token: ${error.message}`);
      await stop(daniel);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether Daniel takes lines for Henrik's host with this token (an empty ingest). */
async function honoured(token) {
  const probe = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: henrikHost, files: [] }),
  }).catch(() => undefined);
  return probe?.status === 200;
}

/** The saved token, or a new one when it was revoked (a running Daniel sees it within 2 s). */
async function henrikTokenFile() {
  if (await honoured(readFileSync(henrikTokenPath, 'utf8').trim())) return henrikTokenPath;
  const token = createHenrikToken();
  for (const started = Date.now(); !(await honoured(token)) && Date.now() - started < 5000; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return henrikTokenPath;
}

let henrikToken;
try {
  henrikToken = await henrikTokenFile();
} catch (error) {
  console.error(error.message);
  await stop(daniel);
  process.exit(1);
}
const sources = [...systemLogs(), join(root, 'samples', '*.log')];
const journal = journalReadable();
const henrik = startChild('henrik', [
  '--server', url,
  '--host', henrikHost,
  '--state-dir', join(dataDir, 'henrik-state'),
  ...(journal ? ['--journal'] : []),
  ...sources,
], undefined, { HENRIK_TOKEN_FILE: henrikToken, HENRIK_TOKEN: '' });

console.log(`
Daniel is running: ${url}/   (pid ${daniel.pid}; Henrik pid ${henrik.pid})
Token: ${token}   (kept in ${join(dataDir, 'token')})
Henrik ships: ${sources.join(', ')}
${journal ? 'and the systemd journal (as journal/<unit>)' : 'no systemd journal: journalctl shows this user no entries here'}

Try:
  curl -s -H "Authorization: Bearer ${token}" ${url}/hosts/
  curl -s -H "Authorization: Bearer ${token}" "${url}/hosts/${henrikHost}/logs?file=openssh.log&filter=Failed&count=5"

Ctrl-C stops both.
`);

let stopping = false;
async function shutdown(exitCode) {
  if (stopping) return;
  stopping = true;
  console.log('stopping Henrik, then Daniel…');
  await stop(henrik);
  await stop(daniel);
  process.exit(exitCode);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
for (const [name, child] of [['henrik', henrik], ['daniel', daniel]]) {
  void child.exitStatus.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping`);
    void shutdown(1);
  });
}
