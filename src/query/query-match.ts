/**
 * A parsed `q` -> one line test and the literals every matching line must contain (for the
 * blooms and indexOf). Fields are derived from the text on demand, once per tested line, with
 * the same extraction every input uses (fields.ts); a line whose text rules it out is never
 * parsed for fields.
 *
 * `host:` and `file:` are properties of the line's source, not of its text: the route lifts
 * them into the filter (lifting.ts), so what reaches here has none.
 */
import { extractFields, normaliseLevel, type Fields } from './fields.js';
import { fieldRegex, type QueryNode } from './language.js';

/** What matcher.ts compiles regexes with (passed in, so the two modules do not import each other). */
export type RegexCompiler = (pattern: string, caseInsensitive: boolean) => { regex: RegExp; lowercase: boolean };

/** The shape of matcher.ts's SubstringCondition. */
export interface QueryHint {
  text: string;
  caseInsensitive: boolean;
  needle: string;
  /**
   * Set for a field term's value: the text of a line holds it when the field was read from the
   * text, but a field its source gave is stored beside the text, so such a hint may rule out a
   * segment only through its bloom (which holds those values too), never drive a scan of its text.
   */
  fromField?: true;
  /** Set when the value is the field's whole value (equality): a whole token of the text or stored fields. */
  wholeToken?: true;
}

type LineTest = (line: string, state: LineState) => boolean;

/** Per-line memo: the lowercased line and the fields, each computed at most once. */
export interface LineState {
  lowered: string | undefined;
  fields: Fields | undefined;
  stored: Readonly<Fields> | undefined;
}

export interface CompiledQuery {
  /** `stored`: the fields the line's source gave, over those extracted from its text. */
  test(line: string, stored?: Readonly<Record<string, string>>): boolean;
  /** The same test with a memo the caller shares between queries on one line (alert rules). */
  testShared(line: string, state: LineState): boolean;
  /** True when some term reads a field. */
  usesFields: boolean;
  /** Literals every matching line contains (AND-required words and phrases). */
  hints: QueryHint[];
  /** Names of fields every matching line has (AND-required field terms), `level` aside: it is derived, not named in the line. */
  requiredNames: string[];
}

function fieldsOf(line: string, state: LineState): Fields {
  return (state.fields ??= extractFields(line, state.stored));
}

function compileNode(node: QueryNode, caseSensitive: boolean, compileRegex: RegexCompiler): LineTest {
  switch (node.kind) {
    case 'all':
      return () => true;
    case 'and': {
      // Terms on the text first: they are cheap, and a line they reject never has its fields extracted.
      const ordered = [...node.nodes.filter((child) => !readsFields(child)), ...node.nodes.filter(readsFields)];
      const tests = ordered.map((child) => compileNode(child, caseSensitive, compileRegex));
      return (line, state) => tests.every((test) => test(line, state));
    }
    case 'or': {
      const tests = node.nodes.map((child) => compileNode(child, caseSensitive, compileRegex));
      return (line, state) => tests.some((test) => test(line, state));
    }
    case 'not': {
      const test = compileNode(node.node, caseSensitive, compileRegex);
      return (line, state) => !test(line, state);
    }
    case 'text': {
      if (caseSensitive) return (line) => line.includes(node.text);
      const needle = node.text.toLowerCase();
      return (line, state) => (state.lowered ??= line.toLowerCase()).includes(needle);
    }
    case 'regex': {
      const condition = compileRegex(node.source, node.flags === 'i');
      return (line, state) => condition.regex.test(condition.lowercase ? (state.lowered ??= line.toLowerCase()) : line);
    }
    case 'field':
      return compileField(node.name, node.op, node.value, compileRegex);
  }
}

function compileField(name: string, op: string, value: string, compileRegex: RegexCompiler): LineTest {
  const get = (line: string, state: LineState): string | undefined => {
    const fields = fieldsOf(line, state);
    return Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
  };
  switch (op) {
    case 'exists':
      return (line, state) => get(line, state) !== undefined;
    case 'prefix':
      return (line, state) => get(line, state)?.startsWith(value) === true;
    case 'regex': {
      const { source, flags } = fieldRegex(value);
      const condition = compileRegex(source, flags === 'i');
      return (line, state) => {
        const found = get(line, state);
        return found !== undefined && condition.regex.test(condition.lowercase ? found.toLowerCase() : found);
      };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = Number(value);
      return (line, state) => {
        const found = get(line, state);
        if (found === undefined || found.trim() === '') return false;
        const n = Number(found);
        if (!Number.isFinite(n)) return false;
        return op === 'gt' ? n > bound : op === 'gte' ? n >= bound : op === 'lt' ? n < bound : n <= bound;
      };
    }
    default: {
      // `level:ERROR` and `level:err` mean the normalised level they name.
      const wanted = name === 'level' ? (normaliseLevel(value) ?? value) : value;
      return (line, state) => get(line, state) === wanted;
    }
  }
}

/**
 * A field value that a line's text must hold verbatim when the field was read from it: plain
 * characters no JSON or logfmt writer escapes, not a number (JSON `5e2` is read as `500`),
 * not `level` (normalised from other words).
 */
const PLAIN_VALUE = /^[A-Za-z0-9_.:@-]{3,}$/;
export function fieldHint(node: Extract<QueryNode, { kind: 'field' }>): string | undefined {
  if (node.name === 'level' || (node.op !== 'eq' && node.op !== 'prefix')) return undefined;
  if (!PLAIN_VALUE.test(node.value) || Number.isFinite(Number(node.value))) return undefined;
  return node.value;
}

/** Words, phrases and field values every match must contain: those ANDed at the top (never under OR or NOT). */
function requiredTexts(node: QueryNode): { text: string; fromField: boolean; whole: boolean }[] {
  if (node.kind === 'text') return [{ text: node.text, fromField: false, whole: false }];
  if (node.kind === 'and') return node.nodes.flatMap(requiredTexts);
  if (node.kind === 'field') {
    const value = fieldHint(node);
    return value === undefined ? [] : [{ text: value, fromField: true, whole: node.op === 'eq' }];
  }
  return [];
}

export function compileQuery(node: QueryNode, caseSensitive: boolean, compileRegex: RegexCompiler): CompiledQuery {
  const test = compileNode(node, caseSensitive, compileRegex);
  const hints = requiredTexts(node)
    .filter(({ text }) => text.length > 0)
    .map(({ text, fromField, whole }): QueryHint =>
      // A field's value is compared exactly, whatever the case option says of words.
      fromField
        ? { text, caseInsensitive: false, needle: text, fromField: true, ...(whole ? { wholeToken: true as const } : {}) }
        : { text, caseInsensitive: !caseSensitive, needle: caseSensitive ? text : text.toLowerCase() },
    );
  return { test: (line, stored) => test(line, { lowered: undefined, fields: undefined, stored }), testShared: test, hints, usesFields: readsFields(node), requiredNames: requiredNames(node) };
}

/**
 * Every field term fails on a line without the field (eq, prefix, exists, range, regex all
 * read an absent field as no match), so a field term ANDed at the top needs its name present.
 * `level` is derived from many spellings (fields.ts) and is left out.
 */
function requiredNames(node: QueryNode): string[] {
  if (node.kind === 'and') return [...new Set(node.nodes.flatMap(requiredNames))];
  if (node.kind === 'field' && node.name !== 'level') return [node.name];
  return [];
}

function readsFields(node: QueryNode): boolean {
  switch (node.kind) {
    case 'field':
      return true;
    case 'and':
    case 'or':
      return node.nodes.some(readsFields);
    case 'not':
      return readsFields(node.node);
    default:
      return false;
  }
}
