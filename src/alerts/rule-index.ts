/**
 * Rules compiled for evaluation, and an index that keeps the cost per line bounded however
 * many rules there are. A rule is filed under one necessary condition, checked for all rules
 * of its kind at once:
 * - a literal every match contains (a word or phrase ANDed at the top, or the required
 *   literal of a regex there; else the value of a field term ANDed there, which the text
 *   holds when the field was read from it: query-match.ts fieldHint): filed under the
 *   literal's first three characters, then its whole text. A line is scanned once with a
 *   rolling trigram, checked first against a bitmap of the trigrams in use, so the scan costs
 *   a few ns a character whatever the number of rules, and no line is parsed for fields to
 *   find the rules it may match;
 * - else a field equality ANDed at the top (`level:error`): filed under the name and value;
 *   a line with fields looks up each name in use (its fields parsed once);
 * - else (`-debug`, `a OR b`, `took_ms:>500` alone) tested on every line.
 * A line whose source gave fields beside its text (stored fields) may hold a field value its
 * text does not: for such lines a rule filed under a field's value is also found through
 * that field (or tested). Host and file scope are checked before any text test. Every
 * candidate then runs its full query, with one memo per line shared by all rules
 * (lowercased text, fields).
 */
import { normaliseLevel } from '../query/fields.js';
import type { QueryNode } from '../query/language.js';
import { compileRegex, lowercasePattern, requiredLiteral } from '../query/matcher.js';
import { intersect, queryFilterParts } from '../query/query-filter.js';
import { compileQuery, fieldHint, type LineState } from '../query/query-match.js';
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
  /** The needle is a field's value: held by the text of every match whose source gave no fields. */
  needleFromField: boolean;
  /** A field every match has with this value (filed under it when there is no needle, or the needle is a field's value). */
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

/** Values of field terms ANDed at the top that the text holds when the field was read from it. */
function requiredValues(node: QueryNode): string[] {
  if (node.kind === 'field') {
    const value = fieldHint(node);
    return value === undefined ? [] : [value.toLowerCase()];
  }
  if (node.kind === 'and') return node.nodes.flatMap(requiredValues);
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

const longestFirst = (a: string, b: string): number => b.length - a.length;

export function compileRule(rule: AlertRule): CompiledRule {
  const parts = rule.q.trim() === '' ? { none: false } : queryFilterParts(rule.q, false);
  const hosts = intersect(rule.hosts.length > 0 ? rule.hosts : undefined, 'hosts' in parts ? parts.hosts : undefined);
  const files = 'files' in parts ? parts.files : undefined;
  const matcher = 'matcher' in parts ? parts.matcher : undefined;
  const node = matcher?.kind === 'query' ? matcher.node : undefined;
  const compiled = node === undefined ? undefined : compileQuery(node, false, compileRegex);
  const literal = node === undefined ? undefined : requiredLiterals(node).filter(indexable).sort(longestFirst)[0];
  const value = node === undefined || literal !== undefined ? undefined : requiredValues(node).filter(indexable).sort(longestFirst)[0];
  const needle = literal ?? value;
  return {
    rule,
    hosts: hosts ? new Set(hosts) : undefined,
    files: files ? new Set(files) : undefined,
    never: parts.none || hosts?.length === 0,
    test: compiled === undefined ? () => true : (line, state) => compiled.testShared(line, state),
    needle,
    needleFromField: value !== undefined,
    field: node !== undefined && literal === undefined ? requiredField(node) : undefined,
    mark: 0,
  };
}

const TRIGRAM_SPACE = 1 << 24;

/** The rules under one trigram, by their whole needle, and the needle lengths in use. */
interface TrigramBucket {
  lengths: number[];
  byNeedle: Map<string, Set<CompiledRule>>;
}

type FieldIndex = Map<string, Map<string, Set<CompiledRule>>>;

function addTo<K>(map: Map<K, Set<CompiledRule>>, key: K, compiled: CompiledRule): void {
  let bucket = map.get(key);
  if (!bucket) map.set(key, (bucket = new Set()));
  bucket.add(compiled);
}

function removeFrom<K>(map: Map<K, Set<CompiledRule>>, key: K, compiled: CompiledRule): void {
  const bucket = map.get(key);
  bucket?.delete(compiled);
  if (bucket?.size === 0) map.delete(key);
}

function hasAny(fields: Readonly<Record<string, string>> | undefined): boolean {
  if (fields === undefined) return false;
  for (const name in fields) if (Object.prototype.hasOwnProperty.call(fields, name)) return true;
  return false;
}

export class RuleIndex {
  private readonly byTrigram = new Map<number, TrigramBucket>();
  /** The same buckets by their trigram's text. */
  private readonly byTrigramText = new Map<string, TrigramBucket>();
  /** One bit per trigram with rules filed under it. */
  private readonly trigramBits = new Uint8Array(TRIGRAM_SPACE >> 3);
  /** Rules without a needle, by a field equality. */
  private readonly byField: FieldIndex = new Map();
  /** Rules whose needle is a field's value, by a field equality: for lines with stored fields. */
  private readonly byStoredField: FieldIndex = new Map();
  private readonly unindexed = new Set<CompiledRule>();
  /** Rules whose needle is a field's value, without a field equality: tested on lines with stored fields. */
  private readonly unindexedStored = new Set<CompiledRule>();
  private readonly byId = new Map<string, CompiledRule>();
  private generation = 0;
  /** The line being matched, its memo and its callback (kept here so no closure is made per line). */
  private line: StoredLine | undefined;
  private readonly state: LineState = { lowered: undefined, fields: undefined, stored: undefined };
  private hit: (compiled: CompiledRule) => void = () => undefined;
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

  clear(): void {
    for (const id of [...this.byId.keys()]) this.remove(id);
  }

  add(compiled: CompiledRule): void {
    this.remove(compiled.rule.id);
    this.byId.set(compiled.rule.id, compiled);
    if (compiled.never) return;
    if (compiled.needle !== undefined) {
      const needle = compiled.needle;
      const key = trigramOf(needle);
      let bucket = this.byTrigram.get(key);
      if (!bucket) {
        bucket = { lengths: [], byNeedle: new Map() };
        this.byTrigram.set(key, bucket);
        this.byTrigramText.set(needle.slice(0, 3), bucket);
      }
      addTo(bucket.byNeedle, needle, compiled);
      if (!bucket.lengths.includes(needle.length)) bucket.lengths.push(needle.length);
      this.trigramBits[key >> 3]! |= 1 << (key & 7);
      if (compiled.needleFromField) {
        if (compiled.field !== undefined) this.fileField(this.byStoredField, compiled, compiled.field);
        else this.unindexedStored.add(compiled);
      }
    } else if (compiled.field !== undefined) {
      this.fileField(this.byField, compiled, compiled.field);
    } else {
      this.unindexed.add(compiled);
    }
  }

  private fileField(index: FieldIndex, compiled: CompiledRule, field: { name: string; value: string }): void {
    let values = index.get(field.name);
    if (!values) index.set(field.name, (values = new Map<string, Set<CompiledRule>>()));
    addTo(values, field.value, compiled);
  }

  private unfileField(index: FieldIndex, compiled: CompiledRule, field: { name: string; value: string }): void {
    const values = index.get(field.name);
    if (!values) return;
    removeFrom(values, field.value, compiled);
    if (values.size === 0) index.delete(field.name);
  }

  remove(id: string): void {
    const compiled = this.byId.get(id);
    if (!compiled) return;
    this.byId.delete(id);
    this.unindexed.delete(compiled);
    this.unindexedStored.delete(compiled);
    if (compiled.needle !== undefined) {
      const needle = compiled.needle;
      const key = trigramOf(needle);
      const bucket = this.byTrigram.get(key);
      if (bucket) {
        removeFrom(bucket.byNeedle, needle, compiled);
        if (!bucket.byNeedle.has(needle) && ![...bucket.byNeedle.keys()].some((other) => other.length === needle.length)) {
          bucket.lengths = bucket.lengths.filter((length) => length !== needle.length);
        }
        if (bucket.byNeedle.size === 0) {
          this.byTrigram.delete(key);
          this.byTrigramText.delete(needle.slice(0, 3));
          this.trigramBits[key >> 3]! &= ~(1 << (key & 7));
        }
      }
      if (compiled.needleFromField && compiled.field !== undefined) this.unfileField(this.byStoredField, compiled, compiled.field);
    } else if (compiled.field !== undefined) {
      this.unfileField(this.byField, compiled, compiled.field);
    }
  }

  private consider(compiled: CompiledRule): void {
    if (compiled.mark === this.generation) return;
    compiled.mark = this.generation;
    const line = this.line as StoredLine;
    if (compiled.hosts && !compiled.hosts.has(line.host)) return;
    if (compiled.files && !compiled.files.has(line.filename)) return;
    this.tested += 1;
    if (compiled.test(line.line, this.state)) this.hit(compiled);
  }

  private considerFields(index: FieldIndex): void {
    const line = this.line as StoredLine;
    const fields = (this.state.fields ??= extractFields(line.line, line.fields));
    for (const [name, values] of index) {
      const value = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
      if (value === undefined) continue;
      const bucket = values.get(value);
      if (bucket) for (const compiled of bucket) this.consider(compiled);
    }
  }

  /** The fields of the line being matched (parsed at most once for all rules); only within `hit`. */
  fields(): Readonly<Record<string, string>> {
    const line = this.line as StoredLine;
    return (this.state.fields ??= extractFields(line.line, line.fields));
  }

  /** Calls `hit` for every rule the line matches (each at most once). */
  match(line: StoredLine, hit: (compiled: CompiledRule) => void): void {
    this.generation += 1;
    this.line = line;
    this.hit = hit;
    const state = this.state;
    state.lowered = undefined;
    state.fields = undefined;
    state.stored = line.fields;
    this.tested = 0;
    try {
      for (const compiled of this.unindexed) this.consider(compiled);
      if (this.byField.size > 0) this.considerFields(this.byField);
      if ((this.unindexedStored.size > 0 || this.byStoredField.size > 0) && hasAny(line.fields)) {
        for (const compiled of this.unindexedStored) this.consider(compiled);
        if (this.byStoredField.size > 0) this.considerFields(this.byStoredField);
      }
      if (this.byTrigram.size > 0) this.scan();
    } finally {
      this.line = undefined;
      state.stored = undefined;
      state.fields = undefined;
      state.lowered = undefined;
    }
  }

  /**
   * Finds the needles the lowercased text holds. With few trigrams in use each is looked for
   * with indexOf (a native search, a few ns per character for all of them); with more, one
   * rolling-trigram pass checks each position against the bitmap, whatever their number.
   */
  private scan(): void {
    const lowered = (this.state.lowered ??= (this.line as StoredLine).line.toLowerCase());
    if (this.byTrigram.size <= FEW_TRIGRAMS) {
      for (const [trigram, bucket] of this.byTrigramText) {
        for (let at = lowered.indexOf(trigram); at !== -1; at = lowered.indexOf(trigram, at + 1)) this.probe(bucket, lowered, at);
      }
      return;
    }
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
      if (bucket !== undefined) this.probe(bucket, lowered, at - 2);
    }
  }

  /** The rules of `bucket` whose needle starts at `from`. */
  private probe(bucket: TrigramBucket, lowered: string, from: number): void {
    if (bucket.byNeedle.size <= SMALL_BUCKET) {
      for (const [needle, rules] of bucket.byNeedle) if (lowered.startsWith(needle, from)) for (const compiled of rules) this.consider(compiled);
      return;
    }
    for (const length of bucket.lengths) {
      if (from + length > lowered.length) continue;
      const rules = bucket.byNeedle.get(lowered.slice(from, from + length));
      if (rules) for (const compiled of rules) this.consider(compiled);
    }
  }
}

/** Up to this many trigrams in use, the text is searched for each (indexOf) instead of scanned once. */
const FEW_TRIGRAMS = 16;
/** Buckets with at most this many needles compare each in place; larger ones look the text up by length. */
const SMALL_BUCKET = 8;

function trigramOf(text: string): number {
  return (text.charCodeAt(0) << 16) | (text.charCodeAt(1) << 8) | text.charCodeAt(2);
}
