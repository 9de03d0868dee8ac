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
  /** byNeedle as arrays (see RuleIndex.views): needles, and the rules of each. */
  needles: string[];
  rules: CompiledRule[][];
}

type FieldIndex = Map<string, Map<string, Set<CompiledRule>>>;
/** A field index as arrays: each name in use, with its values' rules. */
type FieldView = Array<{ name: string; values: Map<string, CompiledRule[]> }>;

function fieldView(index: FieldIndex): FieldView {
  return [...index].map(([name, values]) => ({ name, values: new Map([...values].map(([value, rules]) => [value, [...rules]])) }));
}

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
  /**
   * The indexes above as arrays, rebuilt at the first line after a rule changes: iterating a
   * Map or Set makes an iterator (and an entry) per step, on every line; with 100 rules that
   * garbage was a sixth of the evaluation's time.
   */
  private views:
    | {
        trigrams: string[];
        buckets: TrigramBucket[];
        /** With few trigrams: any of them, case-insensitively, or any character past ASCII (see scanAscii). */
        search: RegExp | undefined;
        unindexed: CompiledRule[];
        unindexedStored: CompiledRule[];
        byField: FieldView;
        byStoredField: FieldView;
      }
    | undefined;
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
    this.views = undefined;
    this.byId.set(compiled.rule.id, compiled);
    if (compiled.never) return;
    if (compiled.needle !== undefined) {
      const needle = compiled.needle;
      const key = trigramOf(needle);
      let bucket = this.byTrigram.get(key);
      if (!bucket) {
        bucket = { lengths: [], byNeedle: new Map(), needles: [], rules: [] };
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
    this.views = undefined;
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

  private considerFields(index: FieldView): void {
    const line = this.line as StoredLine;
    const fields = (this.state.fields ??= extractFields(line.line, line.fields));
    for (let i = 0; i < index.length; i++) {
      const { name, values } = index[i]!;
      const value = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
      if (value === undefined) continue;
      const rules = values.get(value);
      if (rules) this.considerAll(rules);
    }
  }

  /** consider() for each rule (an indexed loop: no iterator per line). */
  private considerAll(rules: readonly CompiledRule[]): void {
    for (let i = 0; i < rules.length; i++) this.consider(rules[i]!);
  }

  private buildViews(): NonNullable<RuleIndex['views']> {
    for (const bucket of this.byTrigram.values()) {
      bucket.needles = [...bucket.byNeedle.keys()];
      bucket.rules = [...bucket.byNeedle.values()].map((rules) => [...rules]);
    }
    const trigrams = [...this.byTrigramText.keys()];
    return (this.views = {
      trigrams,
      buckets: [...this.byTrigramText.values()],
      search: trigrams.length > 0 && trigrams.length <= FEW_TRIGRAMS ? new RegExp(`${trigrams.map(escapeRegex).join('|')}|[^\\x00-\\x7f]`, 'gi') : undefined,
      unindexed: [...this.unindexed],
      unindexedStored: [...this.unindexedStored],
      byField: fieldView(this.byField),
      byStoredField: fieldView(this.byStoredField),
    });
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
    const views = this.views ?? this.buildViews();
    try {
      this.considerAll(views.unindexed);
      if (views.byField.length > 0) this.considerFields(views.byField);
      if ((views.unindexedStored.length > 0 || views.byStoredField.length > 0) && hasAny(line.fields)) {
        this.considerAll(views.unindexedStored);
        if (views.byStoredField.length > 0) this.considerFields(views.byStoredField);
      }
      if (views.search !== undefined) {
        if (!this.scanAscii(views.search)) this.scan(views.trigrams, views.buckets);
      } else if (views.buckets.length > 0) {
        this.scan(views.trigrams, views.buckets);
      }
    } finally {
      this.line = undefined;
      state.stored = undefined;
      state.fields = undefined;
      state.lowered = undefined;
    }
  }

  /**
   * With few trigrams, while the text is ASCII (where a case-insensitive match and
   * toLowerCase agree, and keep every position): finds them with one case-insensitive
   * search of the text itself and compares each needle in place, so the line is neither
   * lowercased nor searched once per trigram. False when it meets a character past ASCII:
   * the line is then scanned as lowercased text (a rule already considered is not again).
   */
  private scanAscii(search: RegExp): boolean {
    const text = (this.line as StoredLine).line;
    search.lastIndex = 0;
    while (search.test(text)) {
      const end = search.lastIndex;
      const c = text.charCodeAt(end - 1);
      // A character past ASCII, or a trigram of Latin-1 letters (which /i folds its own way).
      if (c >= 0x80) return false;
      const from = end - 3;
      const a = text.charCodeAt(from);
      const b = text.charCodeAt(from + 1);
      if (a >= 0x80 || b >= 0x80) return false;
      const bucket = this.byTrigram.get((ASCII_LOWER[a]! << 16) | (ASCII_LOWER[b]! << 8) | ASCII_LOWER[c]!);
      if (bucket !== undefined && !this.probeAscii(bucket, text, from)) return false;
      // Trigrams may overlap: the next search starts one character on.
      search.lastIndex = from + 1;
    }
    return true;
  }

  /** probe() on the text itself, comparing ASCII letters case-insensitively; false at a character past ASCII. */
  private probeAscii(bucket: TrigramBucket, text: string, from: number): boolean {
    const needles = bucket.needles;
    if (needles.length > SMALL_BUCKET) {
      this.probeByLength(bucket, text, from, true);
      return true;
    }
    for (let n = 0; n < needles.length; n++) {
      const needle = needles[n]!;
      if (from + needle.length > text.length) continue;
      let k = 0;
      for (; k < needle.length; k++) {
        const c = text.charCodeAt(from + k);
        if (c >= 0x80) return false;
        if (ASCII_LOWER[c] !== needle.charCodeAt(k)) break;
      }
      if (k === needle.length) this.considerAll(bucket.rules[n]!);
    }
    return true;
  }

  /**
   * Finds the needles the lowercased text holds. With few trigrams in use each is looked for
   * with indexOf (a native search, a few ns per character for all of them); with more, one
   * rolling-trigram pass checks each position against the bitmap, whatever their number.
   */
  private scan(trigrams: string[], buckets: TrigramBucket[]): void {
    const lowered = (this.state.lowered ??= (this.line as StoredLine).line.toLowerCase());
    if (trigrams.length <= FEW_TRIGRAMS) {
      for (let t = 0; t < trigrams.length; t++) {
        const trigram = trigrams[t]!;
        for (let at = lowered.indexOf(trigram); at !== -1; at = lowered.indexOf(trigram, at + 1)) this.probe(buckets[t]!, lowered, at);
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
    const needles = bucket.needles;
    if (needles.length <= SMALL_BUCKET) {
      for (let n = 0; n < needles.length; n++) {
        if (lowered.startsWith(needles[n]!, from)) this.considerAll(bucket.rules[n]!);
      }
      return;
    }
    this.probeByLength(bucket, lowered, from, false);
  }

  /** A large bucket: the text at `from` looked up by each needle length in use (`lower`: the text is not lowercased yet). */
  private probeByLength(bucket: TrigramBucket, text: string, from: number, lower: boolean): void {
    const lengths = bucket.lengths;
    for (let l = 0; l < lengths.length; l++) {
      const length = lengths[l]!;
      if (from + length > text.length) continue;
      const slice = text.slice(from, from + length);
      const rules = bucket.byNeedle.get(lower ? slice.toLowerCase() : slice);
      if (rules) for (const compiled of rules) this.consider(compiled);
    }
  }
}

/** ASCII's lowercase mapping (A-Z to a-z), the identity for every other code below 128. */
const ASCII_LOWER = new Uint8Array(128).map((_, c) => (c >= 65 && c <= 90 ? c + 32 : c));

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Up to this many trigrams in use, the text is searched for each (indexOf) instead of scanned once. */
const FEW_TRIGRAMS = 16;
/** Buckets with at most this many needles compare each in place; larger ones look the text up by length. */
const SMALL_BUCKET = 8;

function trigramOf(text: string): number {
  return (text.charCodeAt(0) << 16) | (text.charCodeAt(1) << 8) | text.charCodeAt(2);
}
