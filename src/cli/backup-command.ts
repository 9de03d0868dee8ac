/**
 * `daniel backup FILE` and `daniel restore FILE` for the sqlite store. Backup uses SQLite's
 * online backup API on a read-only connection: a consistent snapshot while Daniel keeps
 * ingesting (lines committed after the snapshot began are simply not in it). Restore puts a
 * backup in place as DATA_DIR/daniel.db in a data dir with no database yet, 0600.
 */
import { Command } from 'commander';
import { copyFile, chmod, mkdir, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DATA_FORMAT_VERSION, newerFormatMessage } from '../common/data-format.js';

function dataDirOf(flags: { dataDir?: string }): string {
  return resolve(flags.dataDir ?? process.env.DANIEL_DATA_DIR ?? './data');
}

function fail(message: string, code = 1): never {
  process.stderr.write(`daniel: ${message}\n`);
  process.exit(code);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export function backupCommands(): Command[] {
  const backup = new Command('backup')
    .description('copy the sqlite store to FILE: online and consistent while Daniel runs')
    .argument('<file>')
    .option('--data-dir <dir>', 'data directory (env DANIEL_DATA_DIR, default ./data)')
    .action(async (file: string, flags: { dataDir?: string }) => {
      const source = join(dataDirOf(flags), 'daniel.db');
      if (!(await exists(source))) fail(`no sqlite store at ${source}`);
      const target = resolve(file);
      if (await exists(target)) fail(`${target} exists: give a new file name`);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(source, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      const previous = process.umask(0o077);
      try {
        await db.backup(`${target}.partial`);
        await rename(`${target}.partial`, target);
        await chmod(target, 0o600);
      } finally {
        process.umask(previous);
        db.close();
      }
      process.stderr.write(`backup of ${source} written to ${target}\n`);
    });

  const restore = new Command('restore')
    .description('put a backup in place as the sqlite store of a data dir that has none (Daniel stopped)')
    .argument('<file>')
    .option('--data-dir <dir>', 'data directory (env DANIEL_DATA_DIR, default ./data)')
    .action(async (file: string, flags: { dataDir?: string }) => {
      const dataDir = dataDirOf(flags);
      const target = join(dataDir, 'daniel.db');
      for (const path of [target, `${target}-wal`]) {
        if (await exists(path)) fail(`${path} exists: restore into a new data dir, or move the old store away first (with Daniel stopped)`);
      }
      const { default: Database } = await import('better-sqlite3');
      try {
        const check = new Database(resolve(file), { readonly: true, fileMustExist: true });
        const ok = check.pragma('quick_check', { simple: true });
        const format = check.pragma('user_version', { simple: true }) as number;
        check.close();
        if (ok !== 'ok') fail(`${file} is damaged: ${String(ok)}`);
        // A backup of a newer Daniel: this one would refuse to start on it.
        if (format > DATA_FORMAT_VERSION) fail(newerFormatMessage(file, format), 2);
      } catch (error) {
        fail(`${file} is not a readable backup: ${(error as Error).message}`);
      }
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await copyFile(resolve(file), `${target}.partial`);
      await chmod(`${target}.partial`, 0o600);
      await rename(`${target}.partial`, target);
      process.stderr.write(`restored ${file} into ${target}\n`);
    });
  return [backup, restore];
}
