import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContainerDecoder, decodeCri, decodeDocker, parseWrapperTime, podFields, recognise, type DecodedLine } from './container.js';
import { LineSplitter } from './line-splitter.js';

const T = '2024-05-01T10:00:00.123456789Z';
const T_NS = 1714557600123456789n;

function docker(log: string, stream = 'stdout', time = T): string {
  return JSON.stringify({ log, stream, time });
}

/** Bytes -> splitter -> decoder, as a file is read. */
function decodeFile(content: string, format: 'docker' | 'cri', maxBytes = 1024): DecodedLine[] {
  const out: DecodedLine[] = [];
  const splitter = new LineSplitter(maxBytes);
  const decoder = new ContainerDecoder(format, maxBytes);
  splitter.push(Buffer.from(content), 0, (line) => decoder.push({ ...line }, (d) => out.push({ ...d })));
  decoder.flush((d) => out.push({ ...d }));
  return out;
}

describe('wrapper times', () => {
  it('keeps nanoseconds, reads zones and short fractions', () => {
    expect(parseWrapperTime(T)).toBe(T_NS);
    expect(parseWrapperTime('2024-05-01T10:00:00Z')).toBe(1714557600000000000n);
    expect(parseWrapperTime('2024-05-01T10:00:00.5Z')).toBe(1714557600500000000n);
    expect(parseWrapperTime('2024-05-01T12:00:00.000000001+02:00')).toBe(1714557600000000001n);
    expect(parseWrapperTime('2024-05-01T09:30:00-00:30')).toBe(1714557600000000000n);
    for (const bad of ['2024-05-01T10:00:00', '2024-13-01T10:00:00Z', '2024-05-01T10:00:00.Z', '2024-05-01T10:00:00.1234567891Z', '2024-05-01 10:00:00Z', 'x'.repeat(30)]) {
      expect(parseWrapperTime(bad), bad).toBeUndefined();
    }
  });

  it('agrees with Date for any millisecond time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4102444800000 }), fc.integer({ min: 0, max: 999_999 }), (ms, sub) => {
        const iso = new Date(ms).toISOString().replace('Z', `${String(sub).padStart(6, '0')}Z`);
        expect(parseWrapperTime(iso)).toBe(BigInt(ms) * 1_000_000n + BigInt(sub));
      }),
    );
  });
});

describe('Docker json-file lines', () => {
  it('unwraps text, stream and time, and tells a 16 KiB piece by its missing newline', () => {
    expect(decodeDocker(docker('hello\n'))).toEqual({ stream: 'stdout', time: T_NS, text: 'hello', partial: false });
    expect(decodeDocker(docker('err "q" \\ \t\n', 'stderr'))).toEqual({ stream: 'stderr', time: T_NS, text: 'err "q" \\ \t', partial: false });
    expect(decodeDocker(docker('piece'))).toEqual({ stream: 'stdout', time: T_NS, text: 'piece', partial: true });
    expect(decodeDocker(docker('crlf\r\n'))?.text).toBe('crlf');
    expect(decodeDocker(docker('ünï\u2028\n'))?.text).toBe('ünï\u2028');
    // Members in another order, and extra ones (log-opts labels): the slow path.
    expect(decodeDocker(JSON.stringify({ stream: 'stdout', attrs: { tag: 'x' }, time: T, log: 'a\n' }))?.text).toBe('a');
  });

  it('is not fooled by what only looks like a wrapper', () => {
    for (const bad of [
      '{"log":"x\\n","stream":"stdout"}',
      '{"log":"x\\n","stream":"other","time":"2024-05-01T10:00:00Z"}',
      '{"log":"x\\n","stream":"stdout","time":"yesterday"}',
      '{"log":"x\\n","stream":"stdout","time":"2024-05-01T10:00:00Z"',
      '{"log":"bad \\q escape\\n","stream":"stdout","time":"2024-05-01T10:00:00Z"}',
      '{"log":1,"stream":"stdout","time":"2024-05-01T10:00:00Z"}',
      '{"msg":"json, but not Docker\'s"}',
      'plain text',
      '',
    ]) {
      expect(decodeDocker(bad), bad).toBeUndefined();
      expect(recognise(bad), bad).toBeUndefined();
    }
  });

  it('round-trips any text Docker could write', () => {
    const unit = fc.constantFrom('a', ' ', 'ü', '\u2028', '"', '\\', '\\n', '\t', '\u0000', '\u001b', '😀', '\ud800', '{', '}', ',');
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 60 }).map((a) => a.join('')), fc.boolean(), (text, partial) => {
        expect(decodeDocker(docker(partial ? text : `${text}\n`, 'stderr'))).toEqual({ stream: 'stderr', time: T_NS, text, partial });
      }),
    );
  });
});

describe('CRI lines', () => {
  it('unwraps time, stream, the P/F tag and the text', () => {
    expect(decodeCri(`${T} stdout F hello world`)).toEqual({ stream: 'stdout', time: T_NS, text: 'hello world', partial: false });
    expect(decodeCri(`${T} stderr P piece `)).toEqual({ stream: 'stderr', time: T_NS, text: 'piece ', partial: true });
    expect(decodeCri(`${T} stdout F `)?.text).toBe('');
    expect(decodeCri(`${T} stdout F`)?.text).toBe('');
    expect(decodeCri(`${T} stdout F:x,y text`)?.text).toBe('text');
    expect(decodeCri(`2024-05-01T12:00:00.123456789+02:00 stdout F zoned`)?.time).toBe(T_NS);
    for (const bad of [`${T} stdin F x`, `${T} stdout X x`, `${T} stdout Fx`, `2024-05-01 10:00:00 stdout F x`, 'Jan  1 00:00:00 host app: x']) {
      expect(decodeCri(bad), bad).toBeUndefined();
    }
  });
});

describe('ContainerDecoder', () => {
  it('joins Docker pieces into one record: first offset, last end, first time', () => {
    const a = docker('aaa', 'stdout', '2024-05-01T10:00:00Z');
    const b = docker('bbb', 'stdout', '2024-05-01T10:00:01Z');
    const c = docker('ccc\n', 'stdout', '2024-05-01T10:00:02Z');
    const d = docker('next\n');
    const out = decodeFile(`${a}\n${b}\n${c}\n${d}\n`, 'docker');
    expect(out.map((l) => [l.text, l.offset, l.end, l.cut, l.time, l.fields])).toEqual([
      ['aaabbbccc', 0, a.length + b.length + c.length + 3, false, 1714557600000000000n, { stream: 'stdout' }],
      ['next', a.length + b.length + c.length + 3, a.length + b.length + c.length + d.length + 4, false, T_NS, { stream: 'stdout' }],
    ]);
  });

  it('joins CRI P pieces until F; a piece of the other stream ends the waiting record', () => {
    const lines = [`${T} stdout P one-`, `${T} stdout P two-`, `${T} stdout F three`, `${T} stderr P err-`, `${T} stdout F out`, `${T} stderr F alone`];
    const out = decodeFile(lines.join('\n') + '\n', 'cri');
    expect(out.map((l) => [l.text, l.fields?.stream])).toEqual([
      ['one-two-three', 'stdout'],
      ['err-', 'stderr'],
      ['out', 'stdout'],
      ['alone', 'stderr'],
    ]);
    // Records never overlap: each starts where the one before it ended.
    for (let i = 1; i < out.length; i++) expect(out[i]!.offset).toBe(out[i - 1]!.end);
  });

  it('passes lines that are not wrappers on as they are, in order, ending a waiting record', () => {
    const lines = [`${T} stdout P half-`, 'garbage line', `${T} stdout F fine`, '{"log":"broken', `${T} stdout F`];
    const out = decodeFile(lines.join('\n') + '\n', 'cri');
    expect(out.map((l) => [l.text, l.time === undefined])).toEqual([
      ['half-', false],
      ['garbage line', true],
      ['fine', false],
      ['{"log":"broken', true],
      ['', false],
    ]);
  });

  it('cuts a long sequence at the limit, at piece boundaries, every byte once', () => {
    const piece = 'x'.repeat(100);
    const lines = Array.from({ length: 25 }, (_, i) => `${T} stdout ${i === 24 ? 'F' : 'P'} ${piece}`);
    const content = lines.join('\n') + '\n';
    const out = decodeFile(content, 'cri', 1000);
    expect(out.map((l) => [l.text.length, l.cut])).toEqual([
      [1000, true],
      [1000, true],
      [500, false],
    ]);
    expect(out.every((l) => l.time === T_NS)).toBe(true);
    expect(out[0]!.offset).toBe(0);
    expect(out[2]!.end).toBe(Buffer.byteLength(content));
    for (let i = 1; i < out.length; i++) expect(out[i]!.offset).toBe(out[i - 1]!.end);
  });

  it('reads a CRI line longer than the limit (cut by the splitter) as its text, not its wrapper', () => {
    const text = 'y'.repeat(2500);
    const out = decodeFile(`${T} stderr F ${text}\n${T} stdout F after\n`, 'cri', 1000);
    // The wrapper (40 bytes) is in the first of the splitter's pieces; the text follows in the next.
    expect(out.map((l) => l.text.length)).toEqual([960, 1000, 540, 5]);
    expect(out.slice(0, 3).map((l) => [l.cut, l.fields?.stream, l.time])).toEqual([
      [true, 'stderr', T_NS],
      [true, 'stderr', T_NS],
      [false, 'stderr', T_NS],
    ]);
    expect(out.slice(0, 3).map((l) => l.text).join('')).toBe(text);
  });
});

describe('container paths', () => {
  it('names namespace, pod and container of a kubelet pod log wherever the tree is', () => {
    expect(podFields('/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0f1e2d3c-aaaa-bbbb-cccc-0123456789ab/coredns/0.log')).toEqual({
      namespace: 'kube-system',
      pod: 'coredns-5d78c9869d-abcde',
      container: 'coredns',
    });
    expect(podFields('/tmp/x/pods/default_web-1_abc123/nginx/12.log.20240501-100000.gz')?.container).toBe('nginx');
    expect(podFields('/var/log/pods/default_web-1_abc123/nginx/app.log')).toBeUndefined();
    expect(podFields('/var/log/syslog')).toBeUndefined();
  });
});
