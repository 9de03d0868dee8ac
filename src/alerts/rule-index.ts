/**
 * Rules compiled for evaluation, and an index that keeps the cost per line bounded however
 * many rules there are. A rule is filed under one necessary condition, checked for all rules
 * of its kind at once:
 * - a literal every match contains (a word or phrase ANDed at the top, or the required
 *   literal of a regex there): filed under the literal's first three characters. A line is
 *   scanned once with a rolling trigram, checked first against a bitmap of the trigrams in
 *   use, so the scan costs a few ns a character whatever the number of rules;
 * - else a field equality ANDed at the top (`level:error`, `service:api`): filed under the
 *   name and value; a line with fields looks up each name in use (its fields parsed once);
 * - else (`-debug`, `a OR b`, `took_ms:>500` alone) tested on every line.
 * Host and file scope are checked before any text test. Every candidate then runs its full
 * query, with one memo per line shared by all rules (lowercased text, fields).
 */
import { normaliseLevel } from '../query/fields.js';
import type { QueryNode } from '../query/language.js';
import { compileRegex, lowercasePattern, requiredLiteral } from '../query/matcher.js';
import { intersect, queryFilterParts } from '../query/query-filter.js';
import { compileQuery, type LineState } from '../query/query-match.js';
import type { StoredLine } from '../query/types.js';
import { extractFields } from '../query/fields.js';
import type { AlertRule } from './rule.js';

export interface CompiledRule {
  rule: AlertRule;
  hosts: Set<string> | undefined;
  files: Set<string> | undefined;
  /** Nothing can match (contradicting host: terms). */
  never: boolean;
  /** The query's test; `state` is shared by every rule tested on one line (fields parsed once). */
  test: (line: string, state: LineState) => boolean;
  /** Lowercased literal every match contains (3 Latin-1 characters or more at its start). */
  needle: string | undefined;
  /** Else a field every match has with this value: `name\0value`. */
  field: { name: string; value: string } | undefined;
  /** Last line generation this rule was tested on (dedupes index hits). */
  mark: number;
}

/** Literals every match holds: text terms and the required literal of regexes, ANDed at the top. */
function requiredLiterals(node: QueryNode): string[] {
  if (node.kind === 'text') return [node.text.toLowerCase()];
  if (node.kind === 'regex') return [requiredLiteral(node.flags === 'i' ? lowercasePattern(node.source) : node.source).toLowerCase()];
  if (node.kind === 'and') return node.nodes.flatMap(requiredLiterals);
  return [];
}

/** A field equality ANDed at the top; `level` last (few values, so big buckets). */
function requiredField(node: QueryNode): { name: string; value: string } | undefined {
  const terms = (node.kind === 'and' ? node.nodes : [node]).filter((term): term is Extract<QueryNode, { kind: 'field' }> => term.kind === 'field' && term.op === 'eq');
  const best = terms.find((term) => term.name !== 'level') ?? terms[0];
  if (best === undefined) return undefined;
  return { name: best.name, value: best.name === 'level' ? (normaliseLevel(best.value) ?? best.value) : best.value };
}

function indexable(text: string): boolean {
  return text.length >= 3 && text.charCodeAt(0) < 256 && text.charCodeAt(1) < 256 && text.charCodeAt(2) < 256;
}

export function compileRule(rule: AlertRule): CompiledRule {
  const parts = rule.q.trim() === '' ? { none: false } : queryFilterParts(rule.q, false);
  const hosts = intersect(rule.hosts.length > 0 ? rule.hosts : undefined, 'hosts' in parts ? parts.hosts : undefined);
  const files = 'files' in parts ? parts.files : undefined;
  const matcher = 'matcher' in parts ? parts.matcher : undefined;
  const node = matcher?.kind === 'query' ? matcher.node : undefined;
  const compiled = node === undefined ? undefined : compileQuery(node, false, compileRegex);
  const needle = node === undefined ? undefined : requiredLiterals(node).filter(indexable).sort((a, b) => b.length - a.length)[0];
  return {
    rule,
    hosts: hosts ? new Set(hosts) : undefined,
    files: files ? new Set(files) : undefined,
    never: parts.none || hosts?.length === 0,
    test: compiled === undefined ? () => true : (line, state) => compiled.testShared(line, state),
    needle,
    field: needle === undefined && node !== undefined ? requiredField(node) : undefined,
    mark: 0,
  };
}

const TRIGRAM_SPACE = 1 << 24;

export class RuleIndex {
  private readonly byTrigram = new Map<number, Set<CompiledRule>>();
  /** One bit per trigram with rules filed under it. */
  private readonly trigramBits = new Uint8Array(TRIGRAM_SPACE >> 3);
  private readonly byField = new Map<string, Map<string, Set<CompiledRule>>>();
  private readonly unindexed = new Set<CompiledRule>();
  private readonly byId = new Map<string, CompiledRule>();
  private generation = 0;
  /** Rules whose query ran on the last line matched (the cost the index did not spare). */
  tested = 0;

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
    if (compiled.needle !== undefined) {
      const key = trigramOf(compiled.needle);
      let bucket = this.byTrigram.get(key);
      if (!bucket) this.byTrigram.set(key, (bucket = new Set()));
      bucket.add(compiled);
      this.trigramBits[key >> 3]! |= 1 << (key & 7);
    } else if (compiled.field !== undefined) {
      const { name, value } = compiled.field;
      let values = this.byField.get(name);
      if (!values) this.byField.set(name, (values = new Map<string, Set<CompiledRule>>()));
      let bucket = values.get(value);
      if (!bucket) values.set(value, (bucket = new Set()));
      bucket.add(compiled);
    } else {
      this.unindexed.add(compiled);
    }
  }

  remove(id: string): void {
    const compiled = this.byId.get(id);
    if (!compiled) return;
    this.byId.delete(id);
    this.unindexed.delete(compiled);
    if (compiled.needle !== undefined) {
      const key = trigramOf(compiled.needle);
      const bucket = this.byTrigram.get(key);
      bucket?.delete(compiled);
      if (bucket?.size === 0) {
        this.byTrigram.delete(key);
        this.trigramBits[key >> 3]! &= ~(1 << (key & 7));
      }
    } else if (compiled.field !== undefined) {
      const values = this.byField.get(compiled.field.name);
      const bucket = values?.get(compiled.field.value);
      bucket?.delete(compiled);
      if (bucket?.size === 0) values?.delete(compiled.field.value);
      if (values?.size === 0) this.byField.delete(compiled.field.name);
    }
  }

  /** Calls `hit` for every rule the line matches (each at most once). */
  match(line: StoredLine, hit: (compiled: CompiledRule) => void): void {
    const generation = ++this.generation;
    const state: LineState = { lowered: undefined, fields: undefined, stored: line.fields };
    this.tested = 0;
    const consider = (compiled: CompiledRule): void => {
      if (compiled.mark === generation) return;
      compiled.mark = generation;
      if (compiled.hosts && !compiled.hosts.has(line.host)) return;
      if (compiled.files && !compiled.files.has(line.filename)) return;
      this.tested += 1;
      if (compiled.test(line.line, state)) hit(compiled);
    };
    for (const compiled of this.unindexed) consider(compiled);
    if (this.byField.size > 0) {
      const fields = (state.fields ??= extractFields(line.line, line.fields));
      for (const [name, values] of this.byField) {
        const value = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
        if (value === undefined) continue;
        const bucket = values.get(value);
        if (bucket) for (const compiled of bucket) consider(compiled);
      }
    }
    if (this.byTrigram.size === 0) return;
    const lowered = (state.lowered ??= line.line.toLowerCase());
    const bits = this.trigramBits;
    let key = 0;
    let run = 0;
    for (let at = 0; at < lowered.length; at++) {
      const code = lowered.charCodeAt(at);
      if (code > 255) {
        run = 0;
        continue;
      }
      key = ((key << 8) | code) & 0xffffff;
      if (++run < 3 || (bits[key >> 3]! & (1 << (key & 7))) === 0) continue;
      const bucket = this.byTrigram.get(key);
      if (bucket) for (const compiled of bucket) if (compiled.needle !== undefined && lowered.startsWith(compiled.needle, at - 2)) consider(compiled);
    }
  }
}

function trigramOf(text: string): number {
  return (text.charCodeAt(0) << 16) | (text.charCodeAt(1) << 8) | text.charCodeAt(2);
}
