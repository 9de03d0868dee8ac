import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundFields, extractFields, FIELD_LIMITS, FieldBounds, logfmtFields, normaliseLevel, plainLevel, type PairSink } from './fields.js';

/** The first reading of key=value pairs (regex per character, values built character by character): the reference the faster one must agree with. */
function referenceLogfmt(sink: PairSink, line: string): void {
  const KEY_START = /[A-Za-z_@]/;
  const KEY_CHAR = /[A-Za-z0-9_.@\-/]/;
  const KEY_BOUNDARY = new Set([' ', '\t', ',', ';', '[', '(', '{', '|']);
  let i = line.indexOf('=');
  while (i > 0 && !sink.full) {
    let keyStart = i;
    while (keyStart > 0 && KEY_CHAR.test(line[keyStart - 1] as string)) keyStart--;
    const before = keyStart === 0 ? ' ' : (line[keyStart - 1] as string);
    if (keyStart < i && KEY_START.test(line[keyStart] as string) && KEY_BOUNDARY.has(before) && line[i + 1] !== '=') {
      const name = line.slice(keyStart, i);
      let j = i + 1;
      let value: string;
      if (line[j] === '"') {
        let out = '';
        let k = j + 1;
        let closed = false;
        while (k < line.length) {
          const c = line[k] as string;
          if (c === '\\' && k + 1 < line.length) {
            out += line[k + 1];
            k += 2;
            continue;
          }
          if (c === '"') {
            closed = true;
            break;
          }
          out += c;
          k++;
        }
        if (closed) {
          value = out;
          j = k + 1;
        } else {
          let k2 = j;
          while (k2 < line.length && line[k2] !== ' ' && line[k2] !== '\t') k2++;
          value = line.slice(j, k2);
          j = k2;
        }
      } else {
        let k = j;
        while (k < line.length && line[k] !== ' ' && line[k] !== '\t' && line[k] !== ',') k++;
        value = line.slice(j, k);
        j = k;
      }
      sink.add(name, value);
      i = line.indexOf('=', j);
    } else {
      i = line.indexOf('=', i + 1);
    }
  }
}

/** Records every pair in order; full after `capacity` pairs. */
function recorder(capacity: number): PairSink & { pairs: [string, string][] } {
  const pairs: [string, string][] = [];
  return {
    pairs,
    add: (name, value) => void pairs.push([name, value]),
    get full() {
      return pairs.length >= capacity;
    },
  };
}

describe('fields from a line', () => {
  it('reads key=value pairs exactly as the first, slower reading did (property)', () => {
    const piece = fc.constantFrom('a', 'Z', '_', '@', '9', '.', '-', '/', '=', '==', '"', '\\', ' ', '\t', ',', ';', '[', '(', '{', '|', ']', 'é', '😀', 'key=', 'k="v w"', 'x="a\\"b"', 'msg="', 'level=info');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), (parts, capacity) => {
        const line = parts.join('');
        const fast = recorder(capacity);
        const reference = recorder(capacity);
        logfmtFields(fast, line);
        referenceLogfmt(reference, line);
        expect(fast.pairs).toEqual(reference.pairs);
      }),
      { numRuns: 3000 },
    );
  });

  it('flattens a JSON object line with `.`; arrays and null as JSON text', () => {
    expect(extractFields('{"msg":"hi","http":{"status":500,"ok":false},"tags":["a",1],"n":null,"level":"ERROR"}')).toEqual({
      msg: 'hi',
      'http.status': '500',
      'http.ok': 'false',
      tags: '["a",1]',
      n: 'null',
      level: 'error',
    });
    expect(extractFields('  {"a":1}  ')).toEqual({ a: '1' });
    expect(extractFields('{"a":1} trailing')).toEqual({});
    expect(extractFields('[1,2]')).toEqual({});
    expect(extractFields('{"a":')).toEqual({});
  });

  it('reads key=value pairs anywhere in a line, quoted values unquoted', () => {
    expect(extractFields('ts=2024-05-01T10:00:00Z level=warn msg="disk \\"sda\\" full" took_ms=12')).toEqual({
      ts: '2024-05-01T10:00:00Z',
      level: 'warn',
      msg: 'disk "sda" full',
      took_ms: '12',
    });
    expect(extractFields('GET /api status=500 user=bob, path=/x')).toEqual({ status: '500', user: 'bob', path: '/x' });
    expect(extractFields('[pid=12] a==b =c x= y')).toEqual({ pid: '12]', x: '' });
    expect(extractFields('msg="unbalanced quote level=info')).toEqual({ msg: '"unbalanced', level: 'info' });
    expect(extractFields('no pairs here')).toEqual({});
    expect(extractFields('url=http://x/?a=1&b=2')).toEqual({ url: 'http://x/?a=1&b=2' });
  });

  it('names no level for words an object inherits', () => {
    for (const word of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(normaliseLevel(word)).toBeUndefined();
    expect(typeof extractFields('level=constructor msg=x').level).not.toBe('function');
  });

  it('normalises the level from a field, a priority, a number, or the start of a plain line', () => {
    expect(normaliseLevel('WARNING')).toBe('warn');
    expect(normaliseLevel('Fatal')).toBe('critical');
    expect(normaliseLevel('E')).toBe('error');
    expect(normaliseLevel('3', 'priority')).toBe('error');
    expect(normaliseLevel('50')).toBe('error');
    expect(normaliseLevel('30')).toBe('info');
    expect(normaliseLevel('verbose')).toBe('trace');
    expect(normaliseLevel('loud')).toBeUndefined();
    expect(extractFields('{"severity":"err","msg":"x"}').level).toBe('error');
    expect(extractFields('{"level":30,"msg":"pino"}').level).toBe('info');
    expect(extractFields('{"msg":"ERROR in text of a json line"}').level).toBeUndefined();
    expect(plainLevel('2024-05-01 10:00:00 ERROR [main] failed')).toBe('error');
    expect(plainLevel('2024-05-01 10:00:00,123 WARN  o.a.Foo - slow')).toBe('warn');
    expect(plainLevel('[Sun Dec 04 04:47:44 2005] [error] mod_jk child init')).toBe('error');
    expect(plainLevel('<E> something broke')).toBe('error');
    expect(plainLevel('E1214 07:59:50.123456   12 main.go:10] oops')).toBe('error');
    expect(plainLevel('I1214 07:59:50.123456   12 main.go:10] fine')).toBe('info');
    expect(plainLevel('user typed an error message')).toBeUndefined();
    expect(plainLevel('INFORMATION about ERRORS')).toBeUndefined();
    expect(plainLevel('Linux Plug and Play Support v0.97 (c) Adam Belay')).toBeUndefined();
  });

  it('names the level a plain line says as when every shape is tried, skipping those that cannot come first (property)', () => {
    // Whole shapes (bracketed, named, plain) and the characters they are made of, in any order.
    const shape = fc.constantFrom('(info)', '[warn]', '<E>', '[core:error]', '(c)', 'app.ERROR:', 'x.INFO:', ' LOG: ', 'LOG: ', 'PHP Warning: ', 'PHP Notice:', ' ERROR ', ' WARN ', ':INFO ', '[DEBUG]');
    const piece = fc.oneof(shape, fc.constantFrom('ERROR', 'info', ' ', '[', ']', '<', '>', '(', ')', '.', ':', '-', 'app', 'x', 'E', 'LOG', 'PHP', 'Warning', '2024-05-01 10:00:00,123', '|', ','));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const line = pieces.join('');
        expect(plainLevel(line)).toBe(plainLevel(line, true));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the level in the shapes common software writes it', () => {
    const cases: [string, string | undefined][] = [
      ['<3>Dec 14 07:59:50 host app: x', 'error'],
      ['<34>1 2021-12-14T07:59:50Z host app - - - x', 'critical'],
      ['03-17 16:13:38.811  1702  2395 D WindowManager: x', 'debug'],
      ['03-17 16:13:38.811  1702  2395 V WindowManager: x', 'trace'],
      ['2021-03-17 16:13:38.811 E/ActivityManager( 1702): crash', 'error'],
      ['W/Tag(  123): x', 'warn'],
      ['1:M 14 Dec 2021 07:59:50.123 # WARNING overcommit_memory', 'warn'],
      ['1:M 14 Dec 2021 07:59:50.123 * Ready to accept connections', 'notice'],
      ['Error: connect ECONNREFUSED 127.0.0.1:5432', 'error'],
      ['panic: runtime error: index out of range', 'emergency'],
      ['[Tue Dec 14 07:59:50.123456 2021] [core:error] [pid 1] AH00126: Invalid URI', 'error'],
      ['[Tue Dec 14 07:59:50.123456 2021] [ssl:warn] [pid 1] AH01909: x', 'warn'],
      ['[Tue Dec 14 07:59:50.123456 2021] [authz_core:trace3] [pid 1] x', 'trace'],
      ['2021-12-14 07:59:50.123 +00:00 [INF] started', 'info'],
      ['2021-12-14 07:59:50.123 +00:00 [FTL] dead', 'critical'],
      ['2021-12-14 07:59:50.123 +00:00 [VRB] x', 'trace'],
      ['2021-12-14T07:59:50.123456Z 0 [Note] [MY-010311] [Server] x', 'info'],
      ['2021-12-14T07:59:50.123456Z 0 [Warning] [MY-010068] [Server] x', 'warn'],
      ['[2021-12-14 07:59:50] production.ERROR: boom', 'error'],
      ['[2021-12-14 07:59:50] local.INFO: x', 'info'],
      ['2021-12-14 07:59:50.123 UTC [1234] LOG:  database system is ready', 'info'],
      ['2021-12-14 07:59:50.123 UTC [1234] ERROR:  relation "x" does not exist', 'error'],
      ['[14-Dec-2021 07:59:50 UTC] PHP Warning:  Undefined variable $x', 'warn'],
      ['[14-Dec-2021 07:59:50 UTC] PHP Fatal error:  Uncaught Error', 'critical'],
      ['user said: error: in quotes, not leading', undefined],
      ['a <999> number in angle brackets later', undefined],
      ['java.util.Map (c) and (e) are letters', undefined],
    ];
    for (const [line, level] of cases) expect(plainLevel(line), line).toBe(level);
    expect(extractFields('{"t":{"$date":"2021-12-14T07:59:50.123+00:00"},"s":"E","c":"NETWORK","msg":"x"}').level).toBe('error');
    expect(extractFields('{"t":{"$date":"2021-12-14T07:59:50.123+00:00"},"s":"D2","c":"NETWORK","msg":"x"}').level).toBe('debug');
    expect(extractFields('{"s":"E","msg":"not MongoDB: no t.$date"}').level).toBeUndefined();
    expect(extractFields('2024 level=bogus ERROR x').level).toBe('error');
    expect(extractFields('2024 level=bogus x')).toEqual({});
  });

  it('source labels win over the text and give the level when they say one', () => {
    expect(extractFields('level=info service=text', { service: 'api', level: '3' })).toEqual({ service: 'api', level: 'error' });
    expect(extractFields('plain', { unit: 'ssh.service' })).toEqual({ unit: 'ssh.service' });
  });

  it('bounds what hostile lines cost and keeps the limits', () => {
    const many = `{${Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect(Object.keys(extractFields(many)).length).toBe(FIELD_LIMITS.maxFields);
    const bigKey = `{"${'k'.repeat(1 << 20)}":1,"ok":2}`;
    expect(extractFields(bigKey)).toEqual({ ok: '2' });
    // Past maxDepth a member is kept as its JSON text, and dropped when that is too long.
    expect(extractFields(`${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`)).toEqual({});
    expect(extractFields(`${'{"a":'.repeat(10)}1${'}'.repeat(10)}`)).toEqual({ 'a.a.a.a.a.a.a.a': '{"a":{"a":1}}' });
    expect(extractFields('{"a":1,"a":2}')).toEqual({ a: '2' });
    expect(extractFields('{"big":1e400,"x":1}')).toEqual({ x: '1' });
    const manyPairs = Array.from({ length: 5000 }, (_, i) => `k${i}=${i}`).join(' ');
    expect(Object.keys(extractFields(manyPairs)).length).toBe(FIELD_LIMITS.maxFields);
  });

  it('never throws and stays within its limits, whatever the line (property)', () => {
    const piece = fc.constantFrom('{', '}', '"', '\\', '=', ' ', 'a', 'level', ':', ',', '[', 'ERROR', '1e400', '.', 'x=1');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.array(piece, { maxLength: 60 }).map((a) => a.join('')), fc.json()), (line) => {
        const fields = extractFields(line);
        const names = Object.keys(fields);
        expect(names.length).toBeLessThanOrEqual(FIELD_LIMITS.maxFields + 1);
        for (const name of names) {
          expect(Buffer.byteLength(name)).toBeLessThanOrEqual(FIELD_LIMITS.maxNameBytes);
          expect(typeof fields[name]).toBe('string');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('FieldBounds', () => {
  it('answers boundFields for each line, a map of its own each time, whether or not the fields repeat the previous line', () => {
    const long = 'x'.repeat(FIELD_LIMITS.maxValueBytes + 1);
    const labels = { host: 'web-1', job: 'app', big: long };
    const given: Record<string, string>[] = [labels, { ...labels }, labels, { job: 'app', host: 'web-1', big: long }, { host: 'web-2' }, { host: 'web-2' }, { big: long }, { big: long }, labels];
    const bounds = new FieldBounds();
    const answers = given.map((fields) => bounds.of(fields));
    expect(answers).toEqual(given.map((fields) => boundFields(fields)));
    expect(answers[0]).toEqual({ host: 'web-1', job: 'app' });
    expect(answers[6]).toBeUndefined();
    expect(Object.keys(answers[3]!)).toEqual(['job', 'host']);
    answers[0]!.host = 'changed';
    expect(answers[1]).toEqual({ host: 'web-1', job: 'app' });
    expect(bounds.of(labels)).toEqual({ host: 'web-1', job: 'app' });
  });
});
