/**
 * The query language of `q=`: words and phrases, AND (implicit), OR, NOT / `-`, parentheses,
 * `field:value`, `field:prefix*`, `field:>=N`, `field:*`, `/regex/` and `field:/regex/`.
 * A hand-written recursive-descent parser: one pass, exact error positions (0-based offsets
 * into the query), bounded depth and size so no query can cost unbounded time or memory.
 * Precedence NOT > AND > OR. docs/query.md is the user's page for this grammar.
 */
import { compileRegex } from './matcher.js';

export type FieldOp = 'eq' | 'prefix' | 'exists' | 'gt' | 'gte' | 'lt' | 'lte' | 'regex';

export type QueryNode =
  | { kind: 'all' }
  | { kind: 'and'; nodes: QueryNode[] }
  | { kind: 'or'; nodes: QueryNode[] }
  | { kind: 'not'; node: QueryNode }
  /** The line contains `text` (a bare word or a quoted phrase). */
  | { kind: 'text'; text: string }
  /** The line matches a regex (linear-time engine); `flags` is '' or 'i'. */
  | { kind: 'regex'; source: string; flags: string }
  | { kind: 'field'; name: string; op: FieldOp; value: string };

/** Bounds that keep parsing and matching cheap whatever is sent. */
export const QUERY_LIMITS = { maxLength: 8192, maxTerms: 256, maxDepth: 32 } as const;

/** A malformed query: the routes answer it as 400 INVALID_QUERY with this message. */
export class QueryError extends Error {
  readonly code = 'INVALID_QUERY';
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`Query parameter q: ${reason} at ${position}`);
    this.name = 'QueryError';
  }
}

const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_.@-]*$/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const OPERATORS = new Set(['AND', 'OR', 'NOT']);

type Token =
  | { type: '(' | ')' | 'AND' | 'OR' | 'NOT' | '-'; at: number }
  | { type: 'term'; node: QueryNode; at: number };

function isSpace(char: string): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f' || char === '\v';
}

/** A character that ends a bare word. */
function endsWord(char: string): boolean {
  return isSpace(char) || char === '(' || char === ')' || char === '"';
}

class Lexer {
  private at = 0;
  readonly tokens: Token[] = [];

  constructor(private readonly text: string) {}

  run(): Token[] {
    const text = this.text;
    while (this.at < text.length) {
      const char = text[this.at] as string;
      if (isSpace(char)) {
        this.at++;
      } else if (char === '(' || char === ')') {
        this.tokens.push({ type: char, at: this.at++ });
      } else if (char === '-' && this.at + 1 < text.length && !isSpace(text[this.at + 1] as string) && text[this.at + 1] !== ')' && this.atTermStart()) {
        this.tokens.push({ type: '-', at: this.at++ });
      } else if (char === '"') {
        const start = this.at;
        this.tokens.push({ type: 'term', node: { kind: 'text', text: this.quoted() }, at: start });
      } else if (char === '/' && this.atTermStart()) {
        const start = this.at;
        const regex = this.regex();
        if (regex) this.tokens.push({ type: 'term', node: { kind: 'regex', ...regex }, at: start });
        else this.word();
      } else {
        this.word();
      }
    }
    return this.tokens;
  }

  /** `-` and `/` start something special only where a term may start. */
  private atTermStart(): boolean {
    const previous = this.at === 0 ? ' ' : (this.text[this.at - 1] as string);
    return isSpace(previous) || previous === '(';
  }

  /** A `"…"` string with `\"` and `\\` escapes, from `this.at` (on the opening quote). */
  private quoted(): string {
    const start = this.at;
    let out = '';
    this.at++;
    while (this.at < this.text.length) {
      const char = this.text[this.at] as string;
      if (char === '\\' && this.at + 1 < this.text.length) {
        out += this.text[this.at + 1];
        this.at += 2;
      } else if (char === '"') {
        this.at++;
        return out;
      } else {
        out += char;
        this.at++;
      }
    }
    throw new QueryError('unterminated "', start);
  }

  /**
   * A `/…/` or `/…/i` regex from `this.at`, or undefined when the closing slash is not
   * followed by the end of the term (then the text is a word, such as `/var/log/syslog`).
   */
  private regex(): { source: string; flags: string } | undefined {
    const start = this.at;
    let source = '';
    let i = start + 1;
    while (i < this.text.length) {
      const char = this.text[i] as string;
      if (char === '\\' && i + 1 < this.text.length) {
        const next = this.text[i + 1] as string;
        source += next === '/' ? '/' : char + next;
        i += 2;
        continue;
      }
      if (char === '/') {
        let end = i + 1;
        let flags = '';
        if (this.text[end] === 'i') {
          flags = 'i';
          end++;
        }
        if (end < this.text.length && !endsWord(this.text[end] as string)) return undefined;
        if (source === '') throw new QueryError('empty regex', start);
        checkRegex(source, start);
        this.at = end;
        return { source, flags };
      }
      source += char;
      i++;
    }
    return undefined;
  }

  /** A bare word, an operator, or (unless `plain`) a `name:value` field term. */
  private word(plain = false): void {
    const start = this.at;
    let raw = '';
    let escaped = false;
    while (this.at < this.text.length) {
      const char = this.text[this.at] as string;
      if (char === '\\' && this.at + 1 < this.text.length) {
        raw += this.text[this.at + 1];
        this.at += 2;
        escaped = true;
        continue;
      }
      if (endsWord(char)) break;
      if (char === ':' && !plain && !escaped && FIELD_NAME.test(raw)) {
        this.at++;
        if (this.fieldValue(raw, start)) return;
        // `http://host/`: not a field regex after all, so the whole term is a word.
        this.at = start;
        this.word(true);
        return;
      }
      raw += char;
      this.at++;
    }
    if (!escaped && OPERATORS.has(raw)) {
      this.tokens.push({ type: raw as 'AND' | 'OR' | 'NOT', at: start });
      return;
    }
    // A trailing `*` on a bare word adds nothing to "contains"; a lone `*` matches every line.
    const text = !escaped && raw.endsWith('*') ? raw.replace(/\*+$/, '') : raw;
    this.tokens.push({ type: 'term', node: text === '' ? { kind: 'all' } : { kind: 'text', text }, at: start });
  }

  /** What follows `name:`; false when it is a `/` that does not make a regex. */
  private fieldValue(name: string, start: number): boolean {
    const text = this.text;
    const push = (op: FieldOp, value: string): void => {
      this.tokens.push({ type: 'term', node: { kind: 'field', name, op, value }, at: start });
    };
    const char = text[this.at];
    if (char === undefined || isSpace(char) || char === ')' || char === '(') throw new QueryError(`field ${name} has no value`, this.at);
    if (char === '"') {
      push('eq', this.quoted());
      return true;
    }
    if (char === '/') {
      const regex = this.regex();
      if (!regex) return false;
      push('regex', regex.flags === 'i' ? `(?i)${regex.source}` : regex.source);
      return true;
    }
    const compare = /^(>=|<=|>|<)/.exec(text.slice(this.at, this.at + 2));
    let value = '';
    // Whether the last character was escaped: `\*` is a star, not a prefix mark.
    let escaped = false;
    const valueStart = this.at + (compare ? compare[1]!.length : 0);
    this.at = valueStart;
    while (this.at < text.length) {
      const c = text[this.at] as string;
      if (c === '\\' && this.at + 1 < text.length) {
        value += text[this.at + 1];
        this.at += 2;
        escaped = true;
        continue;
      }
      if (endsWord(c)) break;
      value += c;
      escaped = false;
      this.at++;
    }
    if (compare) {
      if (!NUMBER.test(value) || !Number.isFinite(Number(value))) throw new QueryError(`field ${name}: ${compare[1]} needs a finite number`, valueStart);
      const op = ({ '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' } as const)[compare[1] as '>' | '>=' | '<' | '<='];
      push(op, String(Number(value)));
      return true;
    }
    if (value === '') throw new QueryError(`field ${name} has no value`, valueStart);
    if (!escaped && value === '*' && text[this.at - 2] === ':') push('exists', '');
    else if (!escaped && value.endsWith('*')) push('prefix', value.slice(0, -1));
    else push('eq', value);
    return true;
  }
}

class Parser {
  private index = 0;
  private terms = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  parse(): QueryNode {
    if (this.tokens.length === 0) return { kind: 'all' };
    const node = this.or(0);
    const extra = this.tokens[this.index];
    if (extra) throw new QueryError(`unexpected ${describe(extra)}`, extra.at);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private or(depth: number): QueryNode {
    const nodes = [this.and(depth)];
    while (this.peek()?.type === 'OR') {
      this.index++;
      nodes.push(this.and(depth));
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'or', nodes };
  }

  private and(depth: number): QueryNode {
    const nodes = [this.unary(depth)];
    for (;;) {
      const next = this.peek();
      if (!next || next.type === 'OR' || next.type === ')') break;
      if (next.type === 'AND') this.index++;
      nodes.push(this.unary(depth));
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
  }

  private unary(depth: number): QueryNode {
    const token = this.peek();
    if (token && (token.type === 'NOT' || token.type === '-')) {
      if (depth >= QUERY_LIMITS.maxDepth) throw new QueryError(`nested deeper than ${QUERY_LIMITS.maxDepth}`, token.at);
      this.index++;
      return { kind: 'not', node: this.unary(depth + 1) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): QueryNode {
    const token = this.peek();
    if (!token) throw new QueryError('unexpected end of query', this.length);
    if (token.type === '(') {
      if (depth >= QUERY_LIMITS.maxDepth) throw new QueryError(`nested deeper than ${QUERY_LIMITS.maxDepth}`, token.at);
      this.index++;
      if (this.peek()?.type === ')') throw new QueryError('empty parentheses', token.at);
      const node = this.or(depth + 1);
      const close = this.peek();
      if (close?.type !== ')') throw new QueryError(close ? `unexpected ${describe(close)}` : 'missing ")"', close?.at ?? this.length);
      this.index++;
      return node;
    }
    if (token.type === 'term') {
      this.index++;
      if (++this.terms > QUERY_LIMITS.maxTerms) throw new QueryError(`more than ${QUERY_LIMITS.maxTerms} terms`, token.at);
      return token.node;
    }
    throw new QueryError(`unexpected ${describe(token)}`, token.at);
  }
}

function describe(token: Token): string {
  return token.type === 'term' ? 'term' : `"${token.type}"`;
}

/** Parses `q`; throws QueryError (INVALID_QUERY, with the position) for anything malformed. */
export function parseQuery(q: string): QueryNode {
  if (q.length > QUERY_LIMITS.maxLength) throw new QueryError(`longer than ${QUERY_LIMITS.maxLength} characters`, QUERY_LIMITS.maxLength);
  const tokens = new Lexer(q).run();
  return new Parser(tokens, q.length).parse();
}

/** A field regex keeps its `i` flag as a `(?i)` prefix in `value`. */
export function fieldRegex(value: string): { source: string; flags: string } {
  return value.startsWith('(?i)') ? { source: value.slice(4), flags: 'i' } : { source: value, flags: '' };
}

/** Compiles on the linear-time engine, as matching will: no backreferences or lookaround. */
function checkRegex(source: string, at: number): void {
  try {
    compileRegex(source, false);
  } catch (error) {
    throw new QueryError(`invalid regex (${(error as Error).message})`, at);
  }
}

function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function printRegex(source: string, flags: string): string {
  return `/${source.replaceAll('/', '\\/')}/${flags}`;
}

function printGrouped(node: QueryNode): string {
  return node.kind === 'and' || node.kind === 'or' ? `(${printQuery(node)})` : printQuery(node);
}

/** The canonical text of a parsed query: `parseQuery(printQuery(n))` gives `n` again. */
export function printQuery(node: QueryNode): string {
  switch (node.kind) {
    case 'all':
      return '*';
    case 'and':
      return node.nodes.map(printGrouped).join(' ');
    case 'or':
      return node.nodes.map(printGrouped).join(' OR ');
    case 'not':
      return node.node.kind === 'and' || node.node.kind === 'or' ? `NOT (${printQuery(node.node)})` : `NOT ${printQuery(node.node)}`;
    case 'text':
      return quote(node.text);
    case 'regex':
      return printRegex(node.source, node.flags);
    case 'field': {
      switch (node.op) {
        case 'exists':
          return `${node.name}:*`;
        case 'prefix':
          return `${node.name}:${node.value.replace(/[\\\s()"*]|^[<>/]/g, (c) => `\\${c}`)}*`;
        case 'regex': {
          const { source, flags } = fieldRegex(node.value);
          return `${node.name}:${printRegex(source, flags)}`;
        }
        case 'gt':
          return `${node.name}:>${node.value}`;
        case 'gte':
          return `${node.name}:>=${node.value}`;
        case 'lt':
          return `${node.name}:<${node.value}`;
        case 'lte':
          return `${node.name}:<=${node.value}`;
        default:
          return `${node.name}:${quote(node.value)}`;
      }
    }
  }
}
