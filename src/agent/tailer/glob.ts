/**
 * Path patterns: `*` (any characters but `/`), `?`, `[abc]`/`[!abc]`, `{a,b}` and `**` (any
 * number of directories, none included). A pattern's base is the directory it starts from:
 * the leading segments without wildcards; file names are reported relative to it.
 */
import path from 'node:path';

export interface CompiledGlob {
  pattern: string;
  /** Absolute directory the pattern starts from. */
  base: string;
  /** Matches absolute paths. */
  regex: RegExp;
  /** How many directory levels below `base` a match can be; Infinity with `**`. */
  maxDepth: number;
}

const WILDCARD = /[*?[{]/;

export function hasWildcard(segment: string): boolean {
  return WILDCARD.test(segment);
}

export function compileGlob(pattern: string, cwd = process.cwd()): CompiledGlob {
  const absolute = path.resolve(cwd, pattern);
  const segments = absolute.split('/').filter((s) => s !== '');
  let firstWild = segments.findIndex(hasWildcard);
  // A literal path: its base is its directory, so `/var/log/syslog` is reported as `syslog`.
  if (firstWild === -1) firstWild = segments.length - 1;
  const base = '/' + segments.slice(0, firstWild).join('/');
  const rest = segments.slice(firstWild);
  const maxDepth = rest.includes('**') ? Infinity : rest.length;
  let source = base === '/' ? '' : escapeRegex(base);
  rest.forEach((segment, i) => {
    const last = i === rest.length - 1;
    if (segment === '**') {
      source += last ? '(?:/[^/]+)+' : '(?:/[^/]+)*';
    } else {
      source += '/' + segmentToRegex(segment);
    }
  });
  return { pattern, base, regex: new RegExp(`^${source}$`), maxDepth };
}

function segmentToRegex(segment: string): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else if (c === '{') {
      braceDepth++;
      out += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (c === ',' && braceDepth > 0) out += '|';
    else out += escapeRegex(c);
  }
  while (braceDepth-- > 0) out += ')';
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Exclude patterns: with a `/` they match the whole absolute path, without one the file's
 * base name (`*.gz` excludes every compressed file wherever it is).
 */
export function compileExclude(pattern: string, cwd = process.cwd()): (absolutePath: string) => boolean {
  if (!pattern.includes('/')) {
    const regex = new RegExp(`^${segmentToRegex(pattern)}$`);
    return (p) => regex.test(path.basename(p));
  }
  const glob = compileGlob(pattern, cwd);
  return (p) => glob.regex.test(p);
}
