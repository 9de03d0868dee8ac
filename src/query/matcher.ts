/**
 * Compiles the `Matcher`s of a query into one line test. Regexes run on V8's linear-time
 * engine (the `l` flag), so a pathological pattern such as `(a+)+$` cannot stall the server;
 * a pattern that engine rejects (backreferences, lookaround) is an InvalidPatternError.
 *
 * That engine refuses the `i` flag, so a case-insensitive regex is run with its literal
 * letters lowercased against the lowercased line (escapes such as `\W` keep their meaning).
 */
import { InvalidPatternError, type Matcher } from './types.js';
import { compileQuery, type CompiledQuery } from './query-match.js';

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
  /** A field term's value (query-match.ts QueryHint): for blooms, never to drive a scan of a segment whose lines carry stored fields. */
  fromField?: true;
  /** The field's whole value (an equality, not a prefix): a token of the line, for format 3 blooms. */
  wholeToken?: true;
  /** The needle as the line test compares it: lowercased when case-insensitive. */
  needle: string;
}

export interface RegexCondition {
  regex: RegExp;
  /** Test the lowercased line (a case-insensitive regex). */
  lowercase: boolean;
}

export interface CompiledMatch {
  /** True when the line satisfies every condition; `fields` are those its source gave. */
  test(line: string, fields?: Readonly<Record<string, string>>): boolean;
  /** True when some condition reads fields (a segment's text alone cannot decide it). */
  usesFields: boolean;
  substrings: SubstringCondition[];
  regexes: RegexCondition[];
  /** Literals some regex requires: not conditions of their own, only hints for blooms and indexOf. */
  hints: SubstringCondition[];
  /** True when there is no condition at all. */
  matchesAll: boolean;
  /** True when one substring is the only condition: a hit of its needle is a match. */
  onlySubstring: boolean;
  /** Field names every matching line has (query terms): a segment whose bloom rules one out has no match. */
  requiredNames: string[];
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
const QUANTIFIER = /^\{(\d+)(,(\d*))?\}/;
const HEX2 = /^[0-9A-Fa-f]{2}/;
const HEX4 = /^[0-9A-Fa-f]{4}/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The index just past the class that starts at `start` (`[`); the first `]` after `[` or `[^` closes it. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** The index just past the group that starts at `start` (`(`), skipping escapes and classes. */
function groupEnd(pattern: string, start: number): number {
  let depth = 0;
  for (let i = start; i < pattern.length; ) {
    const char = pattern[i];
    if (char === '\\') i += 2;
    else if (char === '[') i = classEnd(pattern, i);
    else {
      if (char === '(') depth++;
      else if (char === ')' && --depth === 0) return i + 1;
      i++;
    }
  }
  return pattern.length;
}

/** True when `pattern` has a `|` outside groups and classes. */
function hasTopLevelAlternation(pattern: string): boolean {
  for (let i = 0; i < pattern.length; ) {
    const char = pattern[i];
    if (char === '\\') i += 2;
    else if (char === '[') i = classEnd(pattern, i);
    else if (char === '(') i = groupEnd(pattern, i);
    else if (char === '|') return true;
    else i++;
  }
  return false;
}

/**
 * The longest literal every match of the pattern must contain, or '' when unsure. The pattern
 * is read as the regex engine reads it (no `u` flag): each top-level atom (a character, an
 * escape, a class, a group) with its quantifier (`?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, lazy or
 * not). Only plain characters count as literal; a character required at least n times adds n
 * copies, and ends the run unless it repeats exactly n times. Nothing inside a group or class
 * counts, and a top-level alternation gives ''. The digits of a quantifier or of an escape
 * (`\x41`, `\u0041`, `\012`) are never taken as text.
 */
export function requiredLiteral(pattern: string): string {
  if (hasTopLevelAlternation(pattern)) return '';
  let best = '';
  let run = '';
  const endRun = (): void => {
    // A piece of a surrogate pair cannot be searched for in UTF-8 text: keep the longest whole part.
    for (const piece of run.split(LONE_SURROGATE)) if (piece.length > best.length) best = piece;
    run = '';
  };
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i] as string;
    let literal: string | undefined;
    if (char === '\\') {
      const next = pattern[i + 1];
      i += 2;
      if (next === undefined) break;
      if (/[^A-Za-z0-9]/.test(next)) literal = next;
      else if (next === 'x' && HEX2.test(pattern.slice(i))) i += 2;
      else if (next === 'u' && HEX4.test(pattern.slice(i))) i += 4;
      else if (next === 'c' && /^[A-Za-z]/.test(pattern.slice(i))) i += 1;
      else if (/[0-9]/.test(next)) while (i < pattern.length && /[0-9]/.test(pattern[i] as string)) i++;
    } else if (char === '[') {
      i = classEnd(pattern, i);
    } else if (char === '(') {
      i = groupEnd(pattern, i);
    } else {
      i++;
      if (!SPECIAL.has(char)) literal = char;
    }
    // The atom's quantifier, if any: its least and most repeats.
    let min = 1;
    let max = 1;
    let quantified = false;
    const quantifier = pattern[i];
    if (quantifier === '?' || quantifier === '*' || quantifier === '+') {
      min = quantifier === '+' ? 1 : 0;
      max = quantifier === '?' ? 1 : Infinity;
      quantified = true;
      i++;
    } else if (quantifier === '{') {
      const braces = QUANTIFIER.exec(pattern.slice(i));
      if (braces) {
        min = Number(braces[1]);
        max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
        quantified = true;
        i += braces[0].length;
      }
    }
    if (quantified && pattern[i] === '?') i++; // lazy
    if (literal === undefined || min === 0) {
      endRun();
      continue;
    }
    run += literal.repeat(Math.min(min, 1_000));
    if (max !== min) endRun();
  }
  endRun();
  return best;
}

/** Case-insensitive substring semantics everywhere: `line.toLowerCase().includes(text.toLowerCase())`. */
export function compileMatchers(matchers: readonly Matcher[] | undefined): CompiledMatch {
  const substrings: SubstringCondition[] = [];
  const regexes: RegexCondition[] = [];
  const hints: SubstringCondition[] = [];
  const queries: CompiledQuery[] = [];
  for (const matcher of matchers ?? []) {
    if (matcher.kind === 'query') {
      const query = compileQuery(matcher.node, matcher.caseSensitive, compileRegex);
      queries.push(query);
      hints.push(...query.hints);
    } else if (matcher.kind === 'substring') {
      const needle = matcher.caseInsensitive ? matcher.text.toLowerCase() : matcher.text;
      substrings.push({ text: matcher.text, caseInsensitive: matcher.caseInsensitive, needle });
    } else {
      regexes.push(compileRegex(matcher.pattern, matcher.caseInsensitive));
      // A case-insensitive regex runs lowercased on the lowercased line: its literal is taken
      // from the pattern as run, so it is exactly what a match holds (`Σ` lowers one way there).
      const literal = requiredLiteral(matcher.caseInsensitive ? lowercasePattern(matcher.pattern) : matcher.pattern);
      if (literal.length >= 3) hints.push({ text: literal, caseInsensitive: matcher.caseInsensitive, needle: literal });
    }
  }
  const test = (line: string, fields?: Readonly<Record<string, string>>): boolean => {
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
    for (const query of queries) if (!query.test(line, fields)) return false;
    return true;
  };
  const none = regexes.length === 0 && queries.length === 0;
  const usesFields = queries.some((query) => query.usesFields);
  const requiredNames = [...new Set(queries.flatMap((query) => query.requiredNames))];
  return { test, substrings, regexes, hints, usesFields, requiredNames, matchesAll: substrings.length === 0 && none, onlySubstring: substrings.length === 1 && none };
}
