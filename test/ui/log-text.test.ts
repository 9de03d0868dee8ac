import { describe, expect, it } from 'vitest';
import { markMatches, splitControls, visibleText } from '../../ui/log-text.js';

describe('log text', () => {
  it('shows ANSI escapes and other control characters as visible escapes', () => {
    expect(visibleText('\u001b[31mred\u001b[0m')).toBe('\\x1b[31mred\\x1b[0m');
    expect(visibleText('a\rb\u0000c\u007f\u009b')).toBe('a\\x0db\\x00c\\x7f\\x9b');
    expect(visibleText('tab\there')).toBe('tab\there');
  });

  it('splits text from escapes so escapes can be styled', () => {
    expect(splitControls('x\u001by')).toEqual([
      { text: 'x', escape: false },
      { text: '\\x1b', escape: true },
      { text: 'y', escape: false },
    ]);
  });

  it('leaves markup as plain text (it is rendered as text nodes)', () => {
    const line = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    expect(splitControls(line)).toEqual([{ text: line, escape: false }]);
  });

  it('marks every substring match, with and without case', () => {
    const marked = (pieces: ReturnType<typeof markMatches>) => pieces.map((p) => (p.match ? `[${p.text}]` : p.text)).join('');
    expect(marked(markMatches('Error error ERROR', 'error', false))).toBe('Error [error] ERROR');
    expect(marked(markMatches('Error error ERROR', 'error', true))).toBe('[Error] [error] [ERROR]');
    expect(marked(markMatches('a\u001bb', '\u001b', false))).toBe('a[\\x1b]b');
    expect(marked(markMatches('nothing here', '', false))).toBe('nothing here');
  });
});

describe('the UI source', () => {
  it('never builds HTML from strings', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const root = new URL('../../ui/', import.meta.url);
    const sources = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((name) => /\.(ts|tsx)$/.test(name));
    expect(sources.length).toBeGreaterThan(5);
    for (const name of sources) {
      const text = readFileSync(new URL(name, root), 'utf8');
      expect(text, name).not.toMatch(/innerHTML|outerHTML|dangerouslySetInnerHTML|insertAdjacentHTML|document\.write|new Function|\beval\(/);
    }
  });
});
