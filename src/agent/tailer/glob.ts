/**
 * Path patterns, matched by picomatch: `*` (any characters but `/`), `?`, `[abc]`/`[!abc]`
 * (never `/`), `{a,b}`, `**` (any number of directories, none included) and `\` to take
 * the next character as it is (`\*`, `\[`, `\\`; picomatch reads a run of escaped
 * backslashes, `\\\\`, as one: match such a name with `?`). `*`, `?` and `**` match names that start with
 * a dot too (`/var/log/*` ships `.hidden.log`): log directories hold no `.` entries to
 * protect, and a dotfile left out silently would be a file whose lines are lost. Parentheses
 * and `|` are plain characters (no extglobs), as in a file name.
 *
 * A pattern's base is the directory it starts from: the leading segments without wildcards;
 * file names are reported relative to it. The walk (discovery.ts) stays hand-written: it
 * needs the base and the depth bound to read no directory the pattern cannot match.
 */
import path from 'node:path';
import picomatch from 'picomatch';

export interface CompiledGlob {
  pattern: string;
  /** Absolute directory the pattern starts from. */
  base: string;
  /** Matches absolute paths. */
  regex: RegExp;
  /** How many directory levels below `base` a match can be; Infinity with `**`. */
  maxDepth: number;
}

const OPTIONS: picomatch.PicomatchOptions = { dot: true, noextglob: true, nonegate: true, posix: true, strictBrackets: false };

/** True when the segment holds an unescaped `*`, `?`, `[` or `{`. */
export function hasWildcard(segment: string): boolean {
  return /[*?[{]/.test(segment.replace(/\\./g, ''));
}

/** Parentheses and `|` are regex syntax to picomatch even without extglobs: escaped, they are the characters of a name. */
function literalParens(pattern: string): string {
  return pattern.replace(/\\.|[()|]/g, (m) => (m.length === 2 ? m : `\\${m}`));
}

function unescape(segment: string): string {
  return segment.replace(/\\(.)/g, '$1');
}

function matcherRegex(pattern: string): RegExp {
  return picomatch.makeRe(literalParens(pattern), OPTIONS);
}

export function compileGlob(pattern: string, cwd = process.cwd()): CompiledGlob {
  const absolute = path.posix.isAbsolute(pattern) ? pattern : `${cwd.replace(/\/+$/, '')}/${pattern}`;
  // `.` and `..` segments resolved as path.resolve does (an escaped character never is one).
  const segments: string[] = [];
  for (const segment of absolute.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  let firstWild = segments.findIndex(hasWildcard);
  // A literal path: its base is its directory, so `/var/log/syslog` is reported as `syslog`.
  if (firstWild === -1) firstWild = segments.length - 1;
  const base = '/' + segments.slice(0, firstWild).map(unescape).join('/');
  const rest = segments.slice(firstWild);
  const maxDepth = rest.includes('**') ? Infinity : rest.length;
  return { pattern, base, regex: matcherRegex('/' + segments.join('/')), maxDepth };
}

/**
 * Exclude patterns: with a `/` they match the whole absolute path, without one the file's
 * base name (`*.gz` excludes every compressed file wherever it is). A caller that has the
 * base name at hand (a directory entry's) passes it, saving a basename per file.
 */
export function compileExclude(pattern: string, cwd = process.cwd()): (absolutePath: string, baseName?: string) => boolean {
  if (!pattern.includes('/')) {
    const regex = matcherRegex(pattern);
    return (p, baseName) => regex.test(baseName ?? path.basename(p));
  }
  const glob = compileGlob(pattern, cwd);
  return (p) => glob.regex.test(p);
}
