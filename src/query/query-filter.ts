/**
 * `q` -> the parts of a LineFilter: `host:` and `file:` equality terms ANDed at the top of a
 * query narrow the hosts and files (they are properties of the line's source, decided per
 * segment, never by reading text); the rest becomes one `query` matcher. A `host:` or `file:`
 * term anywhere else (under OR or NOT, as a prefix, range or regex) is refused for now.
 */
import type { Matcher } from './types.js';
import { parseQuery, QueryError, type QueryNode } from './language.js';

export interface QueryFilterParts {
  /** Hosts every match must be on (intersected with any the caller already has). */
  hosts?: string[];
  files?: string[];
  matcher?: Matcher;
  /** True when the lifted terms contradict each other (`host:a host:b`): nothing matches. */
  none: boolean;
}

const SOURCE_FIELDS = new Set(['host', 'file']);

function mentionsSource(node: QueryNode): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.nodes.some(mentionsSource);
    case 'not':
      return mentionsSource(node.node);
    case 'field':
      return SOURCE_FIELDS.has(node.name);
    default:
      return false;
  }
}

export function queryFilterParts(q: string, caseSensitive: boolean): QueryFilterParts {
  const node = parseQuery(q);
  const terms = node.kind === 'and' ? node.nodes : [node];
  const lifted: Record<'host' | 'file', Set<string> | undefined> = { host: undefined, file: undefined };
  let none = false;
  const rest: QueryNode[] = [];
  for (const term of terms) {
    if (term.kind === 'field' && SOURCE_FIELDS.has(term.name) && term.op === 'eq') {
      const key = term.name as 'host' | 'file';
      const previous = lifted[key];
      if (previous && !previous.has(term.value)) none = true;
      lifted[key] = new Set([term.value]);
      continue;
    }
    if (mentionsSource(term)) {
      throw new QueryError('host: and file: can only be equality terms ANDed at the top of the query (host:web-1 file:syslog …)', 0);
    }
    if (term.kind !== 'all') rest.push(term);
  }
  const parts: QueryFilterParts = { none };
  if (lifted.host) parts.hosts = [...lifted.host];
  if (lifted.file) parts.files = [...lifted.file];
  if (rest.length > 0) parts.matcher = { kind: 'query', node: rest.length === 1 ? rest[0]! : { kind: 'and', nodes: rest }, caseSensitive };
  return parts;
}

/** `narrowed` within `current` (undefined = every one): the intersection, or undefined when neither narrows. */
export function intersect(current: string[] | undefined, narrowed: string[] | undefined): string[] | undefined {
  if (!narrowed) return current;
  if (!current) return narrowed;
  return current.filter((value) => narrowed.includes(value));
}
