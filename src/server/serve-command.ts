/**
 * `daniel serve` as a process: config from flags, env and the `--config` file, start, and
 * SIGTERM/SIGINT -> stop accepting, finish in-flight requests, close the store, exit 0. Bad
 * flags or config: one line on stderr, exit 2. SIGHUP: reload (run.ts says what changes live).
 */
import { ConfigError, loadServeConfig, type ServeFlags } from './config.js';
import { DataFormatError } from '../common/data-format.js';
import { DataDirInUseError } from './data-dir-lock.js';
import { startServer, type RunningServer } from './run.js';
import { privateUmask } from '../common/private-files.js';
import { keepFreedMemory } from '../common/malloc-settings.js';
import { keepTickShape } from '../common/tick-shape.js';

const output = {
  info: (line: string): void => void process.stdout.write(`${line}\n`),
  warn: (line: string): void => void process.stderr.write(`daniel: ${line}\n`),
};

function exitCodeForStartError(error: unknown): number {
  if (error instanceof ConfigError || error instanceof DataDirInUseError || error instanceof DataFormatError) {
    output.warn(error.message);
    return 2;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
    output.warn(`cannot listen: ${(error as Error).message} (check --listen / DANIEL_LISTEN)`);
    return 2;
  }
  output.warn(`cannot start: ${(error as Error).message}`);
  return 1;
}

export async function runServe(flags: ServeFlags): Promise<void> {
  privateUmask();
  keepTickShape();
  keepFreedMemory(process.env.DANIEL_MALLOC_DEFAULTS === '1');
  const starting = (async (): Promise<RunningServer | undefined> => {
    try {
      return await startServer(loadServeConfig(flags, process.env), output);
    } catch (error) {
      process.exit(exitCodeForStartError(error));
    }
  })();
  // Installed before the start yields to the event loop, so no signal can arrive unhandled:
  // a SIGTERM during start-up waits for the start and then closes cleanly.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      output.warn(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    void (async () => {
      try {
        const running = await starting;
        await running?.close();
        process.exit(0);
      } catch (error) {
        output.warn(`error while stopping: ${(error as Error).message}`);
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // SIGHUP: tokens, TLS files and the config file read again; on any problem the running
  // settings stay and the problem is reported. The flags and environment are the process's
  // own and cannot change, so they still win over the file.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading.then(async () => {
      try {
        const running = await starting;
        await running?.reload(loadServeConfig(flags, process.env));
      } catch (error) {
        output.warn(`reload failed, the running settings stay: ${(error as Error).message}`);
      }
    });
  });
  await starting;
}
