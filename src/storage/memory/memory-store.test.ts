import fc from 'fast-check';
import { expect, it } from 'vitest';
import { runStoreContract } from '../store.case.js';
import { buildAppends, filterArb, stepArb } from '../store-properties.case.js';
import type { StoredLine } from '../store.js';
import { MemoryStore } from './memory-store.js';

runStoreContract('memory', () => Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }), { compareWithMemory: false });

it('memory store: first pages equal a naive oracle written from the contract text', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), filterArb, fc.boolean(), fc.integer({ min: 1, max: 20 }), async (steps, filter, asc, limit) => {
      const store = new MemoryStore();
      const oracle: StoredLine[] = [];
      const ends = new Map<string, number>();
      for (const request of buildAppends(steps)) {
        await store.append(request);
        for (const file of request.files) {
          for (const line of file.lines) {
            const key = `${request.host}/${file.fileId}`;
            if (line.offset < (ends.get(key) ?? 0)) continue;
            ends.set(key, line.end);
            oracle.push({ host: request.host, fileId: file.fileId, filename: file.filename, path: file.path, ...line, seq: oracle.length + 1 });
          }
        }
      }
      const wanted = oracle
        .filter((l) => !filter.hosts?.length || filter.hosts.includes(l.host))
        .filter((l) => !filter.files?.length || filter.files.includes(l.filename))
        .filter((l) => (filter.since === undefined || l.timestamp >= filter.since) && (filter.until === undefined || l.timestamp < filter.until))
        .filter((l) =>
          (filter.match ?? []).every((m) =>
            m.kind === 'substring'
              ? m.caseInsensitive
                ? l.line.toLowerCase().includes(m.text.toLowerCase())
                : l.line.includes(m.text)
              : m.kind === 'regex'
                ? new RegExp(m.pattern, m.caseInsensitive ? 'i' : '').test(l.line)
                : false,
          ),
        )
        .sort((a, b) => {
          const sign = asc ? 1 : -1;
          if (a.timestamp !== b.timestamp) return sign * (a.timestamp < b.timestamp ? -1 : 1);
          if (a.offset !== b.offset) return sign * (a.offset - b.offset);
          if (a.host !== b.host) return sign * (a.host < b.host ? -1 : 1);
          if (a.fileId !== b.fileId) return sign * (a.fileId < b.fileId ? -1 : 1);
          return sign * (a.seq - b.seq);
        })
        .slice(0, limit);
      expect((await store.search({ ...filter, order: asc ? 'asc' : 'desc', limit })).lines).toEqual(wanted);
    }),
    { numRuns: 200 },
  );
});
