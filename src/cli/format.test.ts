import { expect, test } from 'vitest';
import type { LogEntry } from '../protocol/api.js';
import { escapeForTerminal, formatHosts, formatLogLine, showHost } from './format.js';

test('control characters and ANSI escapes are shown as visible escapes', () => {
  expect(escapeForTerminal('\u001b[31mred\u001b[0m')).toBe('\\x1b[31mred\\x1b[0m');
  expect(escapeForTerminal('a\rb\nc\u0000d\u0007e\u007ff\u009bg')).toBe('a\\rb\\nc\\x00d\\x07e\\x7ff\\x9bg');
  expect(escapeForTerminal('bidi \u202e trick')).toBe('bidi \\u202e trick');
  expect(escapeForTerminal('tab\tstays, unicode é 日本 stays')).toBe('tab\tstays, unicode é 日本 stays');
});

test('a log line marks host and file and never carries raw escapes', () => {
  const entry: LogEntry = {
    filename: 'sys\u001blog',
    last_modified: '1639508052.0629189',
    logline: '\u001b]0;pwned\u0007Line one',
    host: 'andynewman',
    timestamp: '2021-12-14T18:54:12.0629189Z',
    path: '/var/log/syslog',
    offset: 0,
    file_id: 'f',
    seq: 1,
    cursor: 'c',
  };
  const text = formatLogLine(entry);
  expect(text).toBe('2021-12-14T18:54:12.0629189Z andynewman sys\\x1blog: \\x1b]0;pwned\\x07Line one');
  expect(text).not.toMatch(/[\u0000-\u001f]/);
  expect(formatLogLine({ ...entry, cut: true }, '-')).toMatch(/- .* \[cut\]$/);
});

test('invisible characters are escaped and non-ASCII host names flagged with their ASCII form', () => {
  expect(escapeForTerminal('web\u200b1')).toBe('web\\u200b1');
  expect(escapeForTerminal('\ufeffweb1')).toBe('\\ufeffweb1');
  expect(escapeForTerminal('web\u00ad1')).toBe('web\\xad1');
  expect(escapeForTerminal('a\u2066b\u2069')).toBe('a\\u2066b\\u2069');
  expect(showHost('web1')).toBe('web1');
  expect(showHost('w\u0435b1')).toBe('w\u0435b1 [non-ASCII: xn--wb1-rdd]');
  const text = formatHosts([{ host: 'w\u0435b1', url: 'u', last_seen: 'x', lines: 1, bytes: 1 }]);
  expect(text).toContain('[non-ASCII');
});
