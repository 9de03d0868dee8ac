import { describe, expect, it } from 'vitest';
import { backoffMs, classifyStatus, parseRetryAfter } from './retry.js';

describe('retry table', () => {
  it.each([
    [200, 'delivered'],
    [204, 'delivered'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [501, 'rejected'],
    [400, 'rejected'],
    [301, 'misrouted'],
    [302, 'misrouted'],
    [307, 'misrouted'],
    [308, 'misrouted'],
    [404, 'misrouted'],
    [405, 'misrouted'],
    [413, 'too-large'],
    [422, 'rejected'],
    [415, 'rejected'],
    [401, 'unauthorized'],
    [403, 'unauthorized'],
  ])('HTTP %i is %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });

  it('backs off exponentially with jitter, capped', () => {
    const opts = { baseMs: 100, maxMs: 5000 };
    expect(backoffMs(0, opts, () => 0)).toBe(50);
    expect(backoffMs(0, opts, () => 1)).toBe(100);
    expect(backoffMs(3, opts, () => 1)).toBe(800);
    expect(backoffMs(20, opts, () => 1)).toBe(5000);
    expect(backoffMs(20, opts, () => 0)).toBe(2500);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('99999')).toBe(600_000);
  });
});
