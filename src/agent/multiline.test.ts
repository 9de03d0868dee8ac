import { describe, expect, it } from 'vitest';
import { MultilineJoiner, type MultilineRule } from './multiline.js';
import type { RawLine } from './tailer/line-splitter.js';

function join(rule: MultilineRule, texts: string[], max = 10_000): RawLine[] {
  const joiner = new MultilineJoiner(rule, max);
  const out: RawLine[] = [];
  let offset = 0;
  for (const text of texts) {
    const end = offset + Buffer.byteLength(text) + 1;
    joiner.push({ offset, end, text, cut: false }, (l) => out.push(l), 0);
    offset = end;
  }
  joiner.flush((l) => out.push(l));
  return out;
}

describe('MultilineJoiner', () => {
  it('joins a Java stack trace into the record that started it', () => {
    const out = join({ preset: 'java' }, [
      '2024-01-01 ERROR boom',
      'java.lang.IllegalStateException: bad',
      '\tat a.B.c(B.java:1)',
      '\t... 3 more',
      'Caused by: java.io.IOException: x',
      '\tat d.E.f(E.java:2)',
      '2024-01-01 INFO next',
    ]);
    expect(out.map((l) => l.text.split('\n').length)).toEqual([6, 1]);
    expect(out[0]!.offset).toBe(0);
    expect(out[1]!.offset).toBe(out[0]!.end);
  });

  it('joins a Python traceback', () => {
    const out = join({ preset: 'python' }, [
      'ERROR:root:failed',
      'Traceback (most recent call last):',
      '  File "x.py", line 1, in <module>',
      '    foo()',
      'ZeroDivisionError: division by zero',
      'INFO:root:ok',
    ]);
    expect(out.map((l) => l.text.split('\n')[0])).toEqual(['ERROR:root:failed', 'INFO:root:ok']);
  });

  it('with a start pattern, lines not matching it continue the record', () => {
    const out = join({ start: '^\\d{4}-' }, ['2024-a', 'x', 'y', '2024-b']);
    expect(out.map((l) => l.text)).toEqual(['2024-a\nx\ny', '2024-b']);
  });

  it('bounds a record', () => {
    const out = join({ start: '^S' }, ['S', 'aaaa', 'bbbb', 'cccc'], 8);
    expect(out.length).toBeGreaterThan(1);
    expect(out.map((l) => l.text).join('\n')).toBe('S\naaaa\nbbbb\ncccc');
  });

  it('emits the last record after the timeout', () => {
    const joiner = new MultilineJoiner({ start: '^S', timeoutMs: 100 }, 1000);
    const out: RawLine[] = [];
    joiner.push({ offset: 0, end: 2, text: 'S', cut: false }, (l) => out.push(l), 1000);
    joiner.flushIfIdle((l) => out.push(l), 1050);
    expect(out).toHaveLength(0);
    joiner.flushIfIdle((l) => out.push(l), 1100);
    expect(out).toHaveLength(1);
  });
});
