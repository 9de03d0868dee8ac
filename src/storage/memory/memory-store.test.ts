import fc from 'fast-check';
import { expect, it } from 'vitest';
import { runStoreContract } from '../store.case.js';
import { buildAppends, filterArb, stepArb } from '../store-properties.case.js';
import type { StoredLine } from '../store.js';
import { MemoryStore } from './memory-store.js';
import { extractFields } from '../../query/fields.js';
import type { QueryNode } from '../../query/language.js';

/** The query language read straight from docs/query.md, for the oracle: fields from the text, the source's over them. */
function naiveQuery(node: QueryNode, line: StoredLine, caseSensitive: boolean): boolean {
  const fields = extractFields(line.line, line.fields);
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(fields, name);
  switch (node.kind) {
    case 'all':
      return true;
    case 'and':
      return node.nodes.every((child) => naiveQuery(child, line, caseSensitive));
    case 'or':
      return node.nodes.some((child) => naiveQuery(child, line, caseSensitive));
    case 'not':
      return !naiveQuery(node.node, line, caseSensitive);
    case 'text':
      return caseSensitive ? line.line.includes(node.text) : line.line.toLowerCase().includes(node.text.toLowerCase());
    case 'regex':
      return new RegExp(node.source, node.flags).test(line.line);
    case 'field': {
      const value = has(node.name) ? fields[node.name] : undefined;
      if (value === undefined) return false;
      if (node.op === 'exists') return true;
      if (node.op === 'eq') return value === node.value;
      if (node.op === 'prefix') return value.startsWith(node.value);
      if (node.op === 'regex') return new RegExp(node.value.slice(1, node.value.lastIndexOf('/')), node.value.endsWith('/i') ? 'i' : '').test(value);
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) return false;
      const bound = Number(node.value);
      return node.op === 'gt' ? n > bound : node.op === 'gte' ? n >= bound : node.op === 'lt' ? n < bound : n <= bound;
    }
  }
}

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
                : naiveQuery(m.node, l, m.caseSensitive),
          ),
        )
        .sort((a, b) => {
          const sign = asc ? 1 : -1;
          if (a.timestamp !== b.timestamp) return sign * (a.timestamp < b.timestamp ? -1 : 1);
          if (a.offset !== b.offset) return sign * (a.offset - b.offset);
          return sign * (a.seq - b.seq); // then the line's number in the store, one a line
        })
        .slice(0, limit);
      expect((await store.search({ ...filter, order: asc ? 'asc' : 'desc', limit })).lines).toEqual(wanted);
    }),
    { numRuns: 200 },
  );
});
