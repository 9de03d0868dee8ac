/**
 * Compiles the `Matcher`s of a query into one line test. Regexes run on V8's linear-time
 * engine (the `l` flag), so a pathological pattern such as `(a+)+$` cannot stall the server;
 * a pattern that engine rejects (backreferences, lookaround) is an InvalidPatternError.
 *
 * That engine refuses the `i` flag, so a case-insensitive regex is run with its literal
 * letters lowercased against the lowercased line (escapes such as `\W` keep their meaning).
 */
import { InvalidPatternError, type Matcher } from './types.js';

/**
 * The V8 flag that makes the `l` flag available (other regexes are unchanged). It is set when
 * the process starts, never at run time (Node's docs warn against changing V8 flags after
 * start-up): `daniel`'s shebang, `node LINEAR_REGEX_FLAG dist/bin/daniel.js`, the test config.
 */
export const LINEAR_REGEX_FLAG = '--enable-experimental-regexp-engine';

/** Whether this process runs with V8's linear-time regex engine. */
export function linearRegexAvailable(): boolean {
  try {
    return new RegExp('a', 'l').test('a');
  } catch {
    return false;
  }
}

/** Throws a clear error at start-up when the engine is missing, instead of a 400 on every regex later. */
export function assertLinearRegex(): void {
  if (!linearRegexAvailable()) {
    throw new Error(
      `regex search needs V8's linear-time engine: start Node with ${LINEAR_REGEX_FLAG} (the daniel command does; run \`node ${LINEAR_REGEX_FLAG} dist/bin/daniel.js serve\` when starting the file with node yourself)`,
    );
  }
}

/** A substring condition, kept apart so segment scans can use Buffer.indexOf and blooms. */
export interface SubstringCondition {
  text: string;
  caseInsensitive: boolean;
  /** The needle as the line test compares it: lowercased when case-insensitive. */
  needle: string;
}

export interface RegexCondition {
  regex: RegExp;
  /** Test the lowercased line (a case-insensitive regex). */
  lowercase: boolean;
}

export interface CompiledMatch {
  /** True when the line satisfies every condition. */
  test(line: string): boolean;
  substrings: SubstringCondition[];
  regexes: RegexCondition[];
  /** Literals some regex requires: not conditions of their own, only hints for blooms and indexOf. */
  hints: SubstringCondition[];
  /** True when there is no condition at all. */
  matchesAll: boolean;
}

/** Escapes whose letter carries meaning (`\W` is not `\w`); any other escaped letter is a literal. */
const MEANINGFUL_ESCAPES = new Set('dDwWsSbBfnrtvcxuk0123456789');

/** Lowercases the literal characters of a pattern, leaving escape sequences as written. */
export function lowercasePattern(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i] as string;
      out += '\\' + (MEANINGFUL_ESCAPES.has(next) ? next : next.toLowerCase());
    } else {
      out += char.toLowerCase();
    }
  }
  return out;
}

export function compileRegex(pattern: string, caseInsensitive: boolean): RegexCondition {
  try {
    return { regex: new RegExp(caseInsensitive ? lowercasePattern(pattern) : pattern, 'l'), lowercase: caseInsensitive };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidPatternError(
      `The regex ${JSON.stringify(pattern)} cannot be used: ${reason}. Backreferences and lookaround are not supported (they cannot run in linear time).`,
    );
  }
}

const SPECIAL = new Set('\\^$.|?*+()[]{}');

/**
 * The longest literal every match of the pattern must contain, or '' when unsure. Only
 * top-level literal characters count (nothing inside groups or classes, nothing under an
 * alternation), and a character followed by `?`, `*` or `{` is optional.
 */
export function requiredLiteral(pattern: string): string {
  if (pattern.includes('|')) return '';
  let best = '';
  let run = '';
  let depth = 0;
  const endRun = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    let literal: string | undefined;
    if (char === '\\') {
      const next = pattern[++i];
      if (next !== undefined && /[^A-Za-z0-9]/.test(next)) literal = next;
    } else if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    } else if (char === '[') {
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
    } else if (!SPECIAL.has(char)) {
      literal = char;
    }
    if (literal === undefined || depth > 0) {
      endRun();
      continue;
    }
    const following = pattern[i + 1];
    if (following === '?' || following === '*' || following === '{') {
      endRun();
    } else {
      run += literal;
      if (following === '+') endRun();
    }
  }
  endRun();
  return best;
}

/** Case-insensitive substring semantics everywhere: `line.toLowerCase().includes(text.toLowerCase())`. */
export function compileMatchers(matchers: readonly Matcher[] | undefined): CompiledMatch {
  const substrings: SubstringCondition[] = [];
  const regexes: RegexCondition[] = [];
  const hints: SubstringCondition[] = [];
  for (const matcher of matchers ?? []) {
    if (matcher.kind === 'substring') {
      const needle = matcher.caseInsensitive ? matcher.text.toLowerCase() : matcher.text;
      substrings.push({ text: matcher.text, caseInsensitive: matcher.caseInsensitive, needle });
    } else {
      regexes.push(compileRegex(matcher.pattern, matcher.caseInsensitive));
      const literal = requiredLiteral(matcher.pattern);
      if (literal.length >= 3) {
        hints.push({ text: literal, caseInsensitive: matcher.caseInsensitive, needle: matcher.caseInsensitive ? literal.toLowerCase() : literal });
      }
    }
  }
  const test = (line: string): boolean => {
    let lowered: string | undefined;
    for (const condition of substrings) {
      if (condition.caseInsensitive) {
        lowered ??= line.toLowerCase();
        if (!lowered.includes(condition.needle)) return false;
      } else if (!line.includes(condition.needle)) {
        return false;
      }
    }
    for (const condition of regexes) {
      if (condition.lowercase) lowered ??= line.toLowerCase();
      if (!condition.regex.test(condition.lowercase ? (lowered as string) : line)) return false;
    }
    return true;
  };
  return { test, substrings, regexes, hints, matchesAll: substrings.length === 0 && regexes.length === 0 };
}
