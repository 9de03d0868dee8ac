import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseQuery, printQuery, QUERY_LIMITS, QueryError, type QueryNode } from './language.js';

const text = (t: string): QueryNode => ({ kind: 'text', text: t });
const field = (name: string, op: string, value: string): QueryNode => ({ kind: 'field', name, op, value }) as QueryNode;

function errorOf(q: string): QueryError {
  try {
    parseQuery(q);
  } catch (error) {
    if (error instanceof QueryError) return error;
    throw error;
  }
  throw new Error(`no error for ${q}`);
}

describe('the query language', () => {
  it('reads words, phrases and the boolean operators with NOT > AND > OR', () => {
    expect(parseQuery('timeout')).toEqual(text('timeout'));
    expect(parseQuery('"connection reset"')).toEqual(text('connection reset'));
    expect(parseQuery('"say \\"hi\\" \\\\ ok"')).toEqual(text('say "hi" \\ ok'));
    expect(parseQuery('a b')).toEqual({ kind: 'and', nodes: [text('a'), text('b')] });
    expect(parseQuery('a AND b')).toEqual(parseQuery('a b'));
    expect(parseQuery('a OR b c')).toEqual({ kind: 'or', nodes: [text('a'), { kind: 'and', nodes: [text('b'), text('c')] }] });
    expect(parseQuery('(a OR b) c')).toEqual({ kind: 'and', nodes: [{ kind: 'or', nodes: [text('a'), text('b')] }, text('c')] });
    expect(parseQuery('-sshd')).toEqual({ kind: 'not', node: text('sshd') });
    expect(parseQuery('NOT a b')).toEqual({ kind: 'and', nodes: [{ kind: 'not', node: text('a') }, text('b')] });
    expect(parseQuery('error -(healthz OR ping)')).toEqual({
      kind: 'and',
      nodes: [text('error'), { kind: 'not', node: { kind: 'or', nodes: [text('healthz'), text('ping')] } }],
    });
    // Lower-case words are words; a dash inside a word is part of it.
    expect(parseQuery('not or and')).toEqual({ kind: 'and', nodes: [text('not'), text('or'), text('and')] });
    expect(parseQuery('x-ray')).toEqual(text('x-ray'));
    expect(parseQuery('   ')).toEqual({ kind: 'all' });
    expect(parseQuery('*')).toEqual({ kind: 'all' });
    expect(parseQuery('err*')).toEqual(text('err'));
  });

  it('reads field terms', () => {
    expect(parseQuery('level:error')).toEqual(field('level', 'eq', 'error'));
    expect(parseQuery('service:"web api"')).toEqual(field('service', 'eq', 'web api'));
    expect(parseQuery('service:api*')).toEqual(field('service', 'prefix', 'api'));
    expect(parseQuery('user:*')).toEqual(field('user', 'exists', ''));
    expect(parseQuery('status:>=500')).toEqual(field('status', 'gte', '500'));
    expect(parseQuery('took_ms:<10')).toEqual(field('took_ms', 'lt', '10'));
    expect(parseQuery('x:>1.5e3')).toEqual(field('x', 'gt', '1500'));
    expect(parseQuery('http.status:<=499')).toEqual(field('http.status', 'lte', '499'));
    expect(parseQuery('path:/^\\/api/')).toEqual(field('path', 'regex', '^/api'));
    expect(parseQuery('a\\:b')).toEqual(text('a:b'));
    expect(parseQuery('msg:a:b')).toEqual(field('msg', 'eq', 'a:b'));
  });

  it('keeps times, URLs and paths as words', () => {
    expect(parseQuery('10:30:00')).toEqual(text('10:30:00'));
    expect(parseQuery('http://example.com/x')).toEqual(text('http://example.com/x'));
    expect(parseQuery('/var/log/syslog')).toEqual(text('/var/log/syslog'));
    expect(parseQuery('/fail(ed|ure)/')).toEqual({ kind: 'regex', source: 'fail(ed|ure)', flags: '' });
    expect(parseQuery('/ERROR/i')).toEqual({ kind: 'regex', source: 'ERROR', flags: 'i' });
    expect(parseQuery('a/b/')).toEqual(text('a/b/'));
  });

  it('names the position of what is malformed', () => {
    expect(errorOf('(level:error))').message).toBe('Query parameter q: unexpected ")" at 13');
    expect(errorOf('(a OR b').message).toBe('Query parameter q: missing ")" at 7');
    expect(errorOf('a OR').message).toBe('Query parameter q: unexpected end of query at 4');
    expect(errorOf('"open').position).toBe(0);
    expect(errorOf('x status:>=abc').position).toBe(11);
    expect(errorOf('status: 5').message).toContain('field status has no value');
    expect(errorOf('()').message).toContain('empty parentheses');
    expect(errorOf('/(a)\\1/').message).toContain('invalid regex');
    expect(errorOf('ok /(?<=a)b/').position).toBe(3);
    expect(errorOf('x:>1e400').message).toContain('finite number');
    expect(errorOf('AND').message).toBe('Query parameter q: unexpected "AND" at 0');
    expect(errorOf('a OR OR b').position).toBe(5);
    expect(errorOf('(').code).toBe('INVALID_QUERY');
  });

  it('bounds depth, terms and length', () => {
    expect(errorOf(`${'('.repeat(500)}a${')'.repeat(500)}`).message).toContain('nested deeper');
    expect(errorOf(`${'NOT '.repeat(500)}a`).message).toContain('nested deeper');
    expect(errorOf(Array.from({ length: 10_000 }, (_, i) => `t${i}`).join(' ')).message).toMatch(/more than|longer than/);
    expect(errorOf(Array.from({ length: QUERY_LIMITS.maxTerms + 1 }, () => 'a').join(' ')).message).toContain('more than');
    expect(errorOf('a'.repeat(QUERY_LIMITS.maxLength + 1)).message).toContain('longer than');
    const deepest = `${'('.repeat(QUERY_LIMITS.maxDepth)}a${')'.repeat(QUERY_LIMITS.maxDepth)}`;
    expect(parseQuery(deepest)).toEqual(text('a'));
  });

  it('never throws anything but QueryError, whatever the text (property)', () => {
    const alphabet = fc.constantFrom(...'ab:*"\\/()- <>=.01ANDORNOT\t\u0000é'.split(''), 'AND', 'OR', 'NOT', ' -', 'x:/', 'y:>');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''))), (q) => {
        try {
          parseQuery(q);
        } catch (error) {
          expect(error).toBeInstanceOf(QueryError);
          const { position } = error as QueryError;
          expect(position >= 0 && position <= q.length).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('prints a parsed query so that it parses to the same plan (property)', () => {
    const word = fc.stringMatching(/^[a-z0-9][a-z0-9_.]{0,6}$/).filter((w) => !['and', 'or', 'not'].includes(w));
    const anyText = fc.string({ minLength: 1, maxLength: 8 });
    const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
      anyText.map((t) => text(t)),
      fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_.]{0,5}$/), fc.constantFrom('eq', 'prefix', 'exists'), anyText).map(([n, op, v]) =>
        field(n, op, op === 'exists' ? '' : op === 'prefix' ? v : v),
      ),
      fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/), fc.constantFrom('gt', 'gte', 'lt', 'lte'), fc.integer({ min: -1e6, max: 1e6 })).map(([n, op, v]) => field(n, op, String(v))),
      fc.tuple(word, fc.constantFrom('', 'i')).map(([source, flags]): QueryNode => ({ kind: 'regex', source: `${source}/x`, flags })),
    );
    const tree = fc.letrec<{ node: QueryNode }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((nodes): QueryNode => ({ kind: 'and', nodes })),
        fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((nodes): QueryNode => ({ kind: 'or', nodes })),
        tie('node').map((node): QueryNode => ({ kind: 'not', node })),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (node) => {
        const printed = printQuery(node);
        expect(parseQuery(printQuery(parseQuery(printed)))).toEqual(parseQuery(printed));
        expect(parseQuery(printed)).toEqual(node);
      }),
      { numRuns: 1000 },
    );
  });
});
