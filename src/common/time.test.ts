import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nsToEpochSecondsString, nsToRfc3339 } from './time.js';

const NS = 1_000_000_000n;

/** The texts written out in full, without the writers' shared split or remembered seconds. */
function epochReference(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  const fraction = (abs % NS).toString().padStart(9, '0').replace(/0+$/, '') || '0';
  return `${ns < 0n ? '-' : ''}${abs / NS}.${fraction}`;
}

function rfcReference(ns: bigint): string {
  let rem = ns % NS;
  if (rem < 0n) rem += NS;
  const base = new Date(Number((ns - rem) / NS) * 1000).toISOString().slice(0, 19);
  return `${base}${rem === 0n ? '' : '.' + rem.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
}

/** Times from 0001 to 9999 (what toISOString writes as four digits), with repeats and shared seconds. */
const ns = fc.oneof(
  fc.bigInt({ min: -62_135_596_800n * NS, max: 253_402_300_799n * NS }),
  fc.constantFrom(0n, -1n, 1n, NS, -NS, 1767657599558000000n, 1767657599000000000n, 1767657599999999999n),
  fc.bigInt({ min: 0n, max: 3n * NS }).map((delta) => 1767657599000000000n + delta),
);

describe('times as text', () => {
  it('write every time as they would one at a time, in any order and with repeats', () => {
    fc.assert(
      fc.property(fc.array(ns, { maxLength: 50 }), (times) => {
        for (const time of [...times, ...times.reverse()]) {
          expect(nsToEpochSecondsString(time)).toBe(epochReference(time));
          expect(nsToRfc3339(time)).toBe(rfcReference(time));
          expect(nsToEpochSecondsString(time)).toBe(epochReference(time));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keep one decimal for whole seconds and the sign of times before 1970', () => {
    expect(nsToEpochSecondsString(1639508052062918900n)).toBe('1639508052.0629189');
    expect(nsToEpochSecondsString(1639508052000000000n)).toBe('1639508052.0');
    expect(nsToEpochSecondsString(-1n)).toBe('-0.000000001');
    expect(nsToRfc3339(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(nsToRfc3339(1767657599558000000n)).toBe('2026-01-05T23:59:59.558Z');
  });
});
