import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSyslog } from './parse.js';

const NOW = BigInt(Date.UTC(2026, 11, 2, 6, 0, 0)) * 1_000_000n;
const parse = (text: string): ReturnType<typeof parseSyslog> => parseSyslog(text, { nowNs: NOW });
const ns = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;
/** A zone-less time as the receiver's zone reads it. */
const local = (y: number, mo: number, d: number, h: number, mi: number, s: number): bigint =>
  BigInt(new Date(y, mo - 1, d, h, mi, s).getTime()) * 1_000_000n;

describe('RFC 5424', () => {
  it('reads every header part, structured data and the MSG', () => {
    const message = parse(
      '<165>1 2003-10-11T22:14:15.003000Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event log entry...',
    );
    expect(message).toEqual({
      text: 'An application event log entry...',
      timestamp: ns('2003-10-11T22:14:15.003Z'),
      hostname: 'mymachine.example.com',
      app: 'evntslog',
      fields: {
        facility: 'local4',
        level: 'notice',
        app: 'evntslog',
        procid: '1234',
        msgid: 'ID47',
        'sd.exampleSDID@32473.iut': '3',
        'sd.exampleSDID@32473.eventSource': 'Application',
        'sd.exampleSDID@32473.eventID': '1011',
        'sd.examplePriority@32473.class': 'high',
      },
    });
  });

  it('reads each time of one second whole, whatever zone and fraction the next one has', () => {
    const times = [
      ['2026-12-02T07:00:00.5+01:00', ns('2026-12-02T06:00:00.500Z')],
      ['2026-12-02T07:00:00.25+01:00', ns('2026-12-02T06:00:00.250Z')],
      ['2026-12-02T07:00:00Z', ns('2026-12-02T07:00:00Z')],
      ['2026-12-02T07:00:00.000000001Z', ns('2026-12-02T07:00:00Z') + 1n],
      ['2026-12-02T07:00:00-02:30', ns('2026-12-02T09:30:00Z')],
      ['2026-12-02T07:00:00', local(2026, 12, 2, 7, 0, 0)],
      ['2026-12-02T07:00:01Z', ns('2026-12-02T07:00:01Z')],
      ['2026-12-02T07:00:01.75Z', ns('2026-12-02T07:00:01.750Z')],
    ] as const;
    for (const [time, expected] of times) expect(parse(`<13>1 ${time} h app - - - x`).timestamp, time).toBe(expected);
    // A second out of range is refused even right after a good one of the same minute.
    expect(parse('<13>1 2026-12-02T07:00:61Z h app - - - x').timestamp).toBeUndefined();
  });

  it('keeps microseconds and applies the offset (logger --server)', () => {
    const message = parse('<13>1 2026-12-02T07:00:00.123456+01:00 web-1 myapp - - [timeQuality tzKnown="1" isSynced="0"] hello');
    expect(message.timestamp).toBe(ns('2026-12-02T06:00:00.123Z') + 456_000n);
    expect(message.text).toBe('hello');
    expect(message.fields).toMatchObject({ level: 'notice', facility: 'user', 'sd.timeQuality.isSynced': '0' });
    expect(message.fields.procid).toBeUndefined();
  });

  it('takes NILVALUEs, no MSG, a BOM and escaped SD values', () => {
    expect(parse('<0>1 - - - - - -')).toEqual({ text: '', fields: { facility: 'kern', level: 'emergency' } });
    const message = parse('<14>1 - host app - - [a b="q\\"x\\\\y\\]z"] \ufeffbody');
    expect(message.text).toBe('body');
    expect(message.fields['sd.a.b']).toBe('q"x\\y]z');
  });

  it('falls back to RFC 3164 reading when the header is broken', () => {
    const message = parse('<14>1 notatime host app - - - text');
    expect(message.fields.level).toBe('info');
    expect(message.text).toBe('1 notatime host app - - - text');
  });
});

describe('RFC 3164 and what devices send', () => {
  it('reads HOSTNAME TAG[PID]: with a space-padded day, in the receiver zone', () => {
    const message = parse('<34>Oct  9 22:33:20 mymachine su[231]: \'su root\' failed for lonvick on /dev/pts/8');
    expect(message).toEqual({
      text: "'su root' failed for lonvick on /dev/pts/8",
      timestamp: local(2026, 10, 9, 22, 33, 20),
      hostname: 'mymachine',
      app: 'su',
      fields: { facility: 'auth', level: 'critical', app: 'su', procid: '231' },
    });
  });

  it('has no hostname when the first word is the tag', () => {
    const message = parse('<13>Dec  1 10:00:00 myapp: started');
    expect(message.hostname).toBeUndefined();
    expect(message.app).toBe('myapp');
    expect(message.text).toBe('started');
  });

  it('puts a December line read in January in last year', () => {
    const january = BigInt(Date.UTC(2027, 0, 1, 12, 0, 0)) * 1_000_000n;
    const message = parseSyslog('<13>Dec 31 23:59:00 h app: x', { nowNs: january });
    expect(message.timestamp).toBe(local(2026, 12, 31, 23, 59, 0));
  });

  it('reads rsyslog RFC 3339 templates (RSYSLOG_ForwardFormat)', () => {
    const message = parse('<30>2026-12-02T06:59:58.250+00:00 db-2 systemd[1]: Started foo.service.');
    expect(message.timestamp).toBe(ns('2026-12-02T06:59:58.250Z'));
    expect(message.hostname).toBe('db-2');
    expect(message.app).toBe('systemd');
    expect(message.fields).toMatchObject({ facility: 'daemon', level: 'info', procid: '1' });
    expect(message.text).toBe('Started foo.service.');
  });

  it('reads Cisco IOS sequence numbers and *Mmm dd hh:mm:ss.mmm: times', () => {
    const message = parse('<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)');
    expect(message.fields).toMatchObject({ facility: 'local7', level: 'notice', sequence: '123' });
    expect(message.timestamp).toBe(local(2026, 3, 1, 18, 46, 11) + 123_000_000n);
    expect(message.hostname).toBeUndefined();
    expect(message.app).toBeUndefined();
    expect(message.text).toBe('%SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)');
  });

  it('reads Cisco times with a year and UTC zone', () => {
    const message = parse('<187>45: router1: Mar  1 2026 18:46:11.5 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down');
    // `router1:` before the time (`logging origin-id hostname`) is the host.
    expect(message.fields.sequence).toBe('45');
    expect(message.fields.level).toBe('error');
    expect(message.hostname).toBe('router1');
    expect(message.timestamp).toBe(ns('2026-03-01T18:46:11.500Z'));
    expect(message.text).toBe('%LINK-3-UPDOWN: Interface Gi0/1, changed state to down');
    // A word and a colon before text that is no time stay in the message.
    expect(parse('<187>45: router1: no time here').text).toBe('router1: no time here');
    const utc = parse('<187>Mar  1 2026 18:46:11.5 UTC: %LINK-3-UPDOWN: down');
    expect(utc.timestamp).toBe(ns('2026-03-01T18:46:11.500Z'));
    expect(utc.text).toBe('%LINK-3-UPDOWN: down');
  });

  it('reads Cisco ASA with a device id: the host, then the message without the colon before it', () => {
    const message = parse('<166>Dec 03 2026 06:18:06 fw01 : %ASA-6-302013: Built outbound TCP connection 1');
    expect(message.hostname).toBe('fw01');
    expect(message.text).toBe('%ASA-6-302013: Built outbound TCP connection 1');
  });

  it('takes a missing PRI as user.notice and keeps the whole text', () => {
    expect(parse('just some text')).toEqual({ text: 'just some text', fields: { facility: 'user', level: 'notice' } });
    expect(parse('<999>x').fields.level).toBe('notice');
    expect(parse('<999>x').text).toBe('<999>x');
  });

  it('drops a trailing CR, LF or NUL', () => {
    expect(parse('<13>Dec  1 10:00:00 h app: x\r\n').text).toBe('x');
    expect(parse('<13>Dec  1 10:00:00 h app: x\0').text).toBe('x');
    expect(parse('<13>Dec  1 10:00:00 h app: x \r\n\0\r').text).toBe('x ');
    expect(parse('\r\n\0').text).toBe('');
  });
});

describe('any input', () => {
  it('never throws and keeps a level and facility', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const message = parseSyslog(text, { nowNs: NOW });
        expect(typeof message.text).toBe('string');
        expect(message.fields.level).toBeDefined();
        expect(message.fields.facility).toBeDefined();
      }),
    );
  });

  it('never throws on syslog-shaped input', () => {
    const part = fc.constantFrom('<13>', '<165>1 ', '1 ', '- ', '[a b="c"] ', '[x', 'Oct  9 ', '22:33:20 ', 'host ', 'tag[1]: ', '\\"', ']', ' ', '2026-12-02T07:00:00Z ', '*Mar  1 18:46:11.123: ', '12: ');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), (parts) => {
        parseSyslog(parts.join(''), { nowNs: NOW });
      }),
    );
  });
});
