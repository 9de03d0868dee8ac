/**
 * Rules compiled for evaluation, and an index that keeps the cost per line bounded however
 * many rules there are. A rule whose query requires a literal (a word or phrase ANDed at
 * the top) is filed under the first three characters of its longest one; a line then looks
 * up the trigrams it holds (one map lookup per character) and tests only the rules filed
 * under them. Rules without a literal (`level:error`, `-debug`, `a OR b`) are tested on
 * every line, after their host and file scope.
 */
import { compileMatchers } from '../query/matcher.js';
import { intersect, queryFilterParts } from '../query/query-filter.js';
import type { StoredLine } from '../query/types.js';
import type { AlertRule } from './rule.js';

export interface CompiledRule {
  rule: AlertRule;
  hosts: Set<string> | undefined;
  files: Set<string> | undefined;
  /** Nothing can match (contradicting host: terms). */
  never: boolean;
  test: (line: string) => boolean;
  /** Lowercased literal every match contains, when there is one of 3 characters or more. */
  needle: string | undefined;
  /** Last line generation this rule was tested on (dedupes trigram hits). */
  mark: number;
}

export function compileRule(rule: AlertRule): CompiledRule {
  const parts = rule.q.trim() === '' ? { none: false } : queryFilterParts(rule.q, false);
  const hosts = intersect(rule.hosts.length > 0 ? rule.hosts : undefined, 'hosts' in parts ? parts.hosts : undefined);
  const files = 'files' in parts ? parts.files : undefined;
  const matcher = 'matcher' in parts ? parts.matcher : undefined;
  const compiled = compileMatchers(matcher ? [matcher] : []);
  const needle = compiled.hints
    .map((hint) => (hint.caseInsensitive ? hint.text.toLowerCase() : hint.text))
    .filter((text) => text.length >= 3 && trigramKey(text, 0) !== undefined)
    .sort((a, b) => b.length - a.length)[0];
  return {
    rule,
    hosts: hosts ? new Set(hosts) : undefined,
    files: files ? new Set(files) : undefined,
    never: parts.none || hosts?.length === 0,
    test: (line) => compiled.test(line),
    needle: needle?.toLowerCase(),
    mark: 0,
  };
}

/** Three Latin-1 characters as one small integer; undefined past Latin-1. */
function trigramKey(text: string, at: number): number | undefined {
  const a = text.charCodeAt(at);
  const b = text.charCodeAt(at + 1);
  const c = text.charCodeAt(at + 2);
  if (a > 255 || b > 255 || c > 255) return undefined;
  return (a << 16) | (b << 8) | c;
}

export class RuleIndex {
  private readonly byTrigram = new Map<number, Set<CompiledRule>>();
  private readonly unindexed = new Set<CompiledRule>();
  private readonly byId = new Map<string, CompiledRule>();
  private generation = 0;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): CompiledRule | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<CompiledRule> {
    return this.byId.values();
  }

  add(compiled: CompiledRule): void {
    this.remove(compiled.rule.id);
    this.byId.set(compiled.rule.id, compiled);
    if (compiled.never) return;
    if (compiled.needle === undefined) {
      this.unindexed.add(compiled);
      return;
    }
    const key = trigramKey(compiled.needle, 0) as number;
    let bucket = this.byTrigram.get(key);
    if (!bucket) this.byTrigram.set(key, (bucket = new Set()));
    bucket.add(compiled);
  }

  remove(id: string): void {
    const compiled = this.byId.get(id);
    if (!compiled) return;
    this.byId.delete(id);
    this.unindexed.delete(compiled);
    if (compiled.needle !== undefined) {
      const key = trigramKey(compiled.needle, 0) as number;
      const bucket = this.byTrigram.get(key);
      bucket?.delete(compiled);
      if (bucket?.size === 0) this.byTrigram.delete(key);
    }
  }

  /** Calls `hit` for every rule the line matches (each at most once). */
  match(line: StoredLine, hit: (compiled: CompiledRule) => void): void {
    const generation = ++this.generation;
    const consider = (compiled: CompiledRule): void => {
      if (compiled.mark === generation) return;
      compiled.mark = generation;
      if (compiled.hosts && !compiled.hosts.has(line.host)) return;
      if (compiled.files && !compiled.files.has(line.filename)) return;
      if (compiled.test(line.line)) hit(compiled);
    };
    for (const compiled of this.unindexed) consider(compiled);
    if (this.byTrigram.size === 0) return;
    const lowered = line.line.toLowerCase();
    for (let at = 0; at + 2 < lowered.length; at++) {
      const key = trigramKey(lowered, at);
      if (key === undefined) continue;
      const bucket = this.byTrigram.get(key);
      if (bucket) for (const compiled of bucket) if (compiled.needle !== undefined && lowered.startsWith(compiled.needle, at)) consider(compiled);
    }
  }
}
