/**
 * grep, ripgrep and tail over the same bytes a query covers: timed the same way (wall time
 * of the whole command, p50 of a few runs, page cache warm).
 */
import { ensureTool } from './apt.js';
import { timeCommand } from './proc.js';
import type { Baseline } from './results.js';
import { median } from './stats.js';

export interface ShellBaseline {
  name: string;
  command: string;
  args: string[];
}

let rgPath: string | undefined | null = null;
let rgNote = '';

/** ripgrep's path, installing Debian's `ripgrep` when missing (once per run). */
export function ripgrep(log: (msg: string) => void): { path?: string; note: string } {
  if (rgPath === null) {
    const status = ensureTool('rg', ['ripgrep'], log);
    rgPath = status.path;
    rgNote = status.note;
  }
  return { path: rgPath, note: rgNote };
}

/** A printable form of the command, with the file list shortened. */
export function describe(command: string, args: string[], files: string[]): string {
  const shown = args.filter((arg) => !files.includes(arg));
  const fileCount = args.length - shown.length;
  const quoted = shown.map((arg) => (/^[\w./=-]+$/.test(arg) ? arg : `'${arg}'`));
  return `${command} ${quoted.join(' ')} <${fileCount} generated file${fileCount === 1 ? '' : 's'}>`;
}

/** grep (C locale: its fastest) over `files`. */
export function grep(flags: string[], pattern: string, files: string[]): ShellBaseline {
  return { name: `grep ${flags.join(' ')}`, command: 'grep', args: [...flags, '--', pattern, ...files] };
}

export function rg(path: string, flags: string[], pattern: string, files: string[]): ShellBaseline {
  return { name: `rg ${flags.join(' ')}`, command: path, args: [...flags, '--', pattern, ...files] };
}

export function tailLines(count: number, files: string[]): ShellBaseline {
  return { name: `tail -n ${count}`, command: 'tail', args: ['-q', '-n', String(count), ...files] };
}

export interface TimedBaseline {
  baseline: Baseline;
  stdout: string;
}

/** Runs the command `repeats` times (after one untimed warm-up); p50 wall time in ms. */
export function timeBaseline(spec: ShellBaseline, repeats: number): TimedBaseline {
  const env = { LC_ALL: 'C' };
  const first = timeCommand(spec.command, spec.args, { env });
  // grep and rg exit 1 for "no match": only 2 and above are failures.
  if (first.status === null || first.status > 1) {
    return { baseline: { name: spec.name, unit: 'ms', notMeasured: `${spec.command} exited ${first.status}` }, stdout: first.stdout };
  }
  const runs = Array.from({ length: repeats }, () => timeCommand(spec.command, spec.args, { env }).ms);
  return { baseline: { name: spec.name, value: median(runs), unit: 'ms' }, stdout: first.stdout };
}

/** Sum of `grep -c`/`rg -c` output over several files (`file:count` lines or a bare count). */
export function sumCounts(stdout: string): number {
  return stdout
    .split('\n')
    .filter(Boolean)
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(':') + 1)), 0);
}
