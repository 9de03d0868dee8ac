/**
 * Ground truth for `level`: every line of the loghub 2k samples whose `_structured.csv`
 * has a Level column (Android's letters, Apache's words, the log4j systems' capitals)
 * must get that level, normalised; and the samples without one (Linux, OpenSSH) must not
 * get levels from words that are no level (`(c) Adam Belay`).
 */
import { describe, expect, it } from 'vitest';
import { loghubDir, loghubSample } from '../../test/lib/loghub.js';
import { extractFields, normaliseLevel } from './fields.js';

const ANDROID: Record<string, string> = { V: 'trace', D: 'debug', I: 'info', W: 'warn', E: 'error', F: 'critical', A: 'critical' };

describe.skipIf(loghubDir === undefined)('level against loghub ground truth', () => {
  for (const system of ['Android', 'Apache', 'HDFS', 'Hadoop', 'Spark', 'Zookeeper']) {
    it(`${system}: every line's level is its Level column`, () => {
      const { lines, rows } = loghubSample(loghubDir!, system);
      const misses: string[] = [];
      for (const row of rows) {
        const line = lines[Number(row.LineId) - 1] as string;
        const level = row.Level as string;
        const want = system === 'Android' ? ANDROID[level] : normaliseLevel(level);
        const got = extractFields(line).level;
        if (got !== want) misses.push(`line ${row.LineId}: got ${got} want ${want}: ${line.slice(0, 100)}`);
      }
      expect(misses.slice(0, 5)).toEqual([]);
    });
  }

  it('Linux and OpenSSH: a level only where the line says one', () => {
    const said = new Map<string, number>();
    for (const system of ['Linux', 'OpenSSH']) {
      for (const line of loghubSample(loghubDir!, system).lines) {
        const level = extractFields(line).level;
        if (level !== undefined) said.set(level, (said.get(level) ?? 0) + 1);
      }
    }
    // `logrotate: ALERT exited abnormally` says one; nothing else in them does.
    expect(Object.fromEntries(said)).toEqual({ alert: 43 });
  });
});
