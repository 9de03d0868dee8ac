import { describe, expect, it } from 'vitest';
import { AGENT_EVENTS, EventLog, formatEvent } from './events.js';

describe("Henrik's events", () => {
  const at = new Date('2026-01-02T03:04:05.678Z');

  it('text: time, henrik, the name and fields as key=value, then the sentence', () => {
    expect(formatEvent('text', 'file_truncated', { path: '/var/log/app.log', size: 10, read: 99 }, at)).toBe(
      '2026-01-02T03:04:05.678Z henrik event=file_truncated path=/var/log/app.log size=10 read=99: file truncated, reading it from the start\n',
    );
    // Values with spaces, quotes, = or control characters are quoted; absent fields left out.
    expect(formatEvent('text', 'ship_retry', { attempt: 2, reason: 'HTTP 503 "busy"', wait_ms: undefined, x: 'a=b\n' }, at)).toBe(
      '2026-01-02T03:04:05.678Z henrik event=ship_retry attempt=2 reason="HTTP 503 \\"busy\\"" x="a=b\\n": could not ship a batch, retrying\n',
    );
  });

  it('json: one object a line with time, level, event, the fields and msg', () => {
    const line = formatEvent('json', 'spool_full', { spool_bytes: 5, max: 4 }, at);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ time: at.toISOString(), level: 'warn', event: 'spool_full', spool_bytes: 5, max: 4, msg: AGENT_EVENTS.spool_full[1] });
  });

  it('EventLog resolves a wait for an event already logged or still to come, and names what it saw when it times out', async () => {
    const events = new EventLog();
    events.log('started', { host: 'h' });
    await expect(events.waitFor('started')).resolves.toEqual({ event: 'started', fields: { host: 'h' } });
    const later = events.waitFor('file_truncated', 1000, (f) => f.path === '/b');
    events.log('file_truncated', { path: '/a' });
    events.log('file_truncated', { path: '/b' });
    await expect(later).resolves.toMatchObject({ fields: { path: '/b' } });
    await expect(events.waitFor('stopped', 10)).rejects.toThrow(/no stopped event within 10 ms; saw started, file_truncated, file_truncated/);
  });
});
