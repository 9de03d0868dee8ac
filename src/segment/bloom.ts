/**
 * Trigram bloom filters: one per segment, over the bytes of the segment's text. It holds
 * every trigram with ASCII letters lowercased (for case-insensitive search on all-ASCII
 * segments) and, for each trigram holding an uppercase ASCII letter, the exact trigram too
 * (so a case-sensitive `ERROR` does not decode every segment that only says `error`). A
 * substring needle can only occur in a segment whose bloom holds every trigram of the
 * needle. False positives cost a decompression; there are no false negatives.
 *
 * Format 2: the bit array (its length a power of two, at least 8 bytes), then one byte, 2;
 * 3 probes from mixed hashes. Format 1 (older segments): the bit array only, lowercased
 * trigrams only, unmixed hashes; case-sensitive needles are then probed lowercased.
 * Anything else cannot rule a segment out.
 *
 * Format 3 is format 2 that also holds every whole token of TOKEN_MIN bytes or more (runs of
 * `A-Za-z0-9_.:@-`), hashed: a value such as a trace id, whose hex trigrams are in every
 * segment, is found by its token alone. Older formats cannot rule a segment out by a token.
 *
 * Format 4 is format 3 whose tokens are set with TOKEN_PROBES probes, and whose text also holds the names of the fields the lines' sources gave
 * (format 3 held only their values). Every field a line has is then named in the bloom's text:
 * a name extracted from JSON or logfmt is written in the line (each of its dot-separated parts
 * literally, unless the line spells a character of it as a JSON `\u00XX` escape), and a given
 * one is in the bloom beside it. So a segment whose format 4 bloom lacks a part of the name,
 * and holds no `\u00`, has no line with that field (`bloomMayHoldName`); older formats cannot tell.
 */

import { createRequire } from 'node:module';

const PROBES = 3;
/**
 * Probes of a whole token in a format 4 bloom. A token is looked up alone (a trace id's hex
 * trigrams are in every segment), so its false positive rate is the fill to the power of its
 * probes: at the fill of a folded summary (about one half) 3 probes admit one segment in 8,
 * 8 probes one in 30 at the fill they raise, and about one in 1,000 in the full bloom.
 */
const TOKEN_PROBES = 8;
const BITS_PER_TRIGRAM = 8;
const EXACT_FORMAT = 2;
const TOKEN_FORMAT = 3;
const NAMES_FORMAT = 4;
/** Shorter tokens are left to the trigrams (a short value is in most segments anyway). */
export const TOKEN_MIN = 8;
/** One bit per possible trigram, reused to find the distinct ones without a Set. */
const seenTrigrams = new Uint8Array(1 << 21);

function lowerAscii(byte: number): number {
  return byte >= 65 && byte <= 90 ? byte | 32 : byte;
}

/** Murmur3's finalizer: every bit of the input moves every bit of the output. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/**
 * Probe i of a trigram is at h1 + i * h2 (double hashing). Format 2 mixes the trigram first.
 * Format 1 multiplied it only, so the low bits that index a small bloom never depended on
 * the trigram's first byte: trigrams differing only there (`Err`, `err`) shared their bits.
 */
function hasBits(bloom: Uint8Array, bitMask: number, trigram: number, mixed: boolean, count = PROBES): boolean {
  // The probes are computed inline, as in the builders: this runs for every segment a query considers, and returning the pair was an allocation each time.
  let h1: number;
  let h2: number;
  if (mixed) {
    h1 = mix(trigram);
    h2 = mix(trigram ^ 0x9e3779b9) | 1;
  } else {
    h1 = Math.imul(trigram, 0x9e3779b1);
    h2 = Math.imul(trigram ^ (trigram >>> 13), 0x85ebca77) | 1;
  }
  for (let i = 0; i < count; i++) {
    const bit = (h1 + Math.imul(i, h2)) & bitMask;
    if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** Distinct trigrams of the text being built, reused between builds (grown when needed). */
let distinct = new Int32Array(1 << 16);

function grow(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
}

/** Bytes of a token: `A-Za-z0-9_.:@-`. */
export function isTokenByte(b: number): boolean {
  return (b >= 48 && b <= 58) || (b >= 64 && b <= 90) || (b >= 97 && b <= 122) || b === 95 || b === 45 || b === 46;
}

/** FNV-1a of a token's bytes, kept apart from trigram values by the tag. */
function tokenHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return (hash ^ 0x5bd1e995) | 0;
}

/** The hash a token probe looks for; undefined when `token` is not one whole token of at least TOKEN_MIN bytes. */
export function tokenProbe(token: string): number | undefined {
  const bytes = Buffer.from(token);
  if (bytes.length < TOKEN_MIN) return undefined;
  for (const byte of bytes) if (!isTokenByte(byte)) return undefined;
  return tokenHash(bytes, 0, bytes.length);
}

/**
 * Per byte: the byte with ASCII letters lowercased, plus 0x100 at the bytes of a token
 * (`A-Za-z0-9_.:@-`): one load per byte tells both (and instead of six comparisons).
 */
const BYTE_CLASSES = Int32Array.from({ length: 256 }, (_, b) => lowerAscii(b) | (isTokenByte(b) ? 0x100 : 0));
const TOKEN_CLASS = 0x100;

let tokenHashes = new Int32Array(1 << 12);

/** An open-addressed set of token hashes, reused between builds; a slot is taken when its stamp is the build's. */
let tokenSlots = new Int32Array(1 << 13);
let tokenStamps = new Uint32Array(1 << 13);
let tokenStamp = 0;

/**
 * Moves the distinct hashes among the first `count` of tokenHashes to its front and returns
 * how many there are: a token repeated on every line sets its bits once, not once a line.
 */
function distinctTokens(count: number): number {
  let size = tokenSlots.length;
  if (size < count * 2) {
    while (size < count * 2) size *= 2;
    tokenSlots = new Int32Array(size);
    tokenStamps = new Uint32Array(size);
    tokenStamp = 0;
  }
  tokenStamp = (tokenStamp + 1) >>> 0;
  if (tokenStamp === 0) {
    tokenStamps.fill(0);
    tokenStamp = 1;
  }
  const mask = size - 1;
  const stamp = tokenStamp;
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const hash = tokenHashes[i]!;
    let slot = mix(hash) & mask;
    for (;;) {
      if (tokenStamps[slot] !== stamp) {
        tokenStamps[slot] = stamp;
        tokenSlots[slot] = hash;
        tokenHashes[kept++] = hash;
        break;
      }
      if (tokenSlots[slot] === hash) break;
      slot = (slot + 1) & mask;
    }
  }
  return kept;
}

/** The builder in C (native/bloom.c): the same bytes as buildTrigramBloomJs, built faster. */
interface NativeBloom {
  build(text: Uint8Array, tokens: boolean, names: boolean): Buffer;
}

/**
 * The C builder when `npm install` built it (scripts/build-native.mjs), else undefined: a
 * machine without a compiler, and the one-file builds, build in JavaScript.
 * `DANIEL_JS_BLOOM=1` keeps to JavaScript (to compare the two).
 */
function loadNativeBloom(): NativeBloom | undefined {
  if (process.env.DANIEL_JS_BLOOM === '1') return undefined;
  try {
    return createRequire(import.meta.url)('../../native/build/Release/bloom.node') as NativeBloom;
  } catch {
    return undefined;
  }
}
const nativeBloom = loadNativeBloom();

/** Whether blooms are built by the C builder in this process. */
export function nativeBloomLoaded(): boolean {
  return nativeBloom !== undefined;
}

/**
 * Builds the bloom of every trigram of `text`: lowercased, and exact where that differs; with
 * `tokens`, also of its long whole tokens (format 3); `names` marks a text that also holds the
 * names of its lines' given fields (format 4, with tokens).
 */
export function buildTrigramBloom(text: Uint8Array, tokens = false, names = false): Buffer {
  return nativeBloom !== undefined ? nativeBloom.build(text, tokens, names) : buildTrigramBloomJs(text, tokens, names);
}

/** buildTrigramBloom in JavaScript: where the C builder is not built, and what it is tested against. */
export function buildTrigramBloomJs(text: Uint8Array, tokens = false, names = false): Buffer {
  const withTokens = tokens || names;
  let tokenCount = 0;
  let count = 0;
  const seen = seenTrigrams;
  let found = distinct;
  // A text under 3 bytes has no trigram, nor any token (TOKEN_MIN is 8).
  if (text.length >= 3) {
    // One pass: the trigrams, and (with tokens) each token's FNV-1a folded in as its bytes go by.
    const classes = BYTE_CLASSES;
    let start = -1;
    let hash = 0;
    for (let i = 0; i < 2; i++) {
      const byte = text[i]!;
      if (classes[byte]! >= TOKEN_CLASS) {
        if (start < 0) {
          start = i;
          hash = 0x811c9dc5;
        }
        hash = Math.imul(hash ^ byte, 0x01000193);
      } else {
        start = -1;
      }
    }
    let lowered = ((classes[text[0]!]! & 0xff) << 8) | (classes[text[1]!]! & 0xff);
    let exact = (text[0]! << 8) | text[1]!;
    const length = text.length;
    for (let i = 2; i < length; i++) {
      const byte = text[i]!;
      const byteClass = classes[byte]!;
      if (byteClass >= TOKEN_CLASS) {
        if (start < 0) {
          start = i;
          hash = 0x811c9dc5;
        }
        hash = Math.imul(hash ^ byte, 0x01000193);
      } else if (start >= 0) {
        if (i - start >= TOKEN_MIN && withTokens) {
          if (tokenCount + 1 > tokenHashes.length) tokenHashes = grow(tokenHashes);
          tokenHashes[tokenCount++] = (hash ^ 0x5bd1e995) | 0;
        }
        start = -1;
      }
      exact = ((exact << 8) | byte) & 0xffffff;
      lowered = ((lowered << 8) | (byteClass & 0xff)) & 0xffffff;
      let slot = lowered >>> 3;
      let bit = 1 << (lowered & 7);
      if ((seen[slot]! & bit) === 0) {
        seen[slot]! |= bit;
        if (count + 2 > found.length) found = distinct = grow(found);
        found[count++] = lowered;
      }
      if (exact !== lowered) {
        slot = exact >>> 3;
        bit = 1 << (exact & 7);
        if ((seen[slot]! & bit) === 0) {
          seen[slot]! |= bit;
          if (count + 2 > found.length) found = distinct = grow(found);
          found[count++] = exact;
        }
      }
    }
    if (start >= 0 && length - start >= TOKEN_MIN && withTokens) {
      if (tokenCount + 1 > tokenHashes.length) tokenHashes = grow(tokenHashes);
      tokenHashes[tokenCount++] = (hash ^ 0x5bd1e995) | 0;
    }
  }
  // Sized by every token, repeats included (as blooms always were): only the bits are set once.
  let bytes = 8;
  while (bytes * 8 < (count + tokenCount) * BITS_PER_TRIGRAM) bytes *= 2;
  const bloom = Buffer.alloc(bytes + 1);
  bloom[bytes] = names ? NAMES_FORMAT : tokens ? TOKEN_FORMAT : EXACT_FORMAT;
  const bitMask = bytes * 8 - 1;
  const distinctCount = tokenCount > 0 ? distinctTokens(tokenCount) : 0;
  const tokenProbes = names ? TOKEN_PROBES : PROBES;
  for (let i = 0; i < distinctCount; i++) {
    const token = tokenHashes[i]!;
    const h1 = mix(token);
    const h2 = mix(token ^ 0x9e3779b9) | 1;
    for (let p = 0; p < tokenProbes; p++) {
      const bit = (h1 + Math.imul(p, h2)) & bitMask;
      bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  for (let i = 0; i < count; i++) {
    const trigram = found[i]!;
    const h1 = mix(trigram);
    const h2 = mix(trigram ^ 0x9e3779b9) | 1;
    for (let p = 0; p < PROBES; p++) {
      const bit = (h1 + Math.imul(p, h2)) & bitMask;
      bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
    seen[trigram >>> 3] = 0; // clears the whole byte: every trigram sharing it is cleared in this loop too
  }
  return bloom;
}

/**
 * Builds of a short text at load, taking the builder's branches (tokens, uppercase, a non-ASCII
 * byte): the engine records type feedback for a function only after its first few calls, and
 * it compiles a segment's long loop while the loop runs. Compiled before the code after the
 * loop had feedback, the builder left its optimized code for the interpreter there on every
 * later build, the code never being replaced: in most processes of a micro-benchmark over
 * bench segments (128 KiB to 1 MiB) for good, about 100 MB/s instead of 150; in a Daniel
 * ingesting, for its first builds. The bytes built are the same either way.
 */
if (nativeBloom === undefined) for (let i = 0; i < 16; i++) buildTrigramBloomJs(Buffer.from('Warm-up: {"trace_id":"4bf92f3577b34da6","level":"INFO","msg":"GET /api/v1/items"} ok=1 \u00e9\n'), true, true);

function trigramsOf(needle: string, lower: boolean): number[] {
  const bytes = Buffer.from(needle);
  const at = (i: number): number => (lower ? lowerAscii(bytes[i]!) : bytes[i]!);
  const trigrams: number[] = [];
  for (let i = 2; i < bytes.length; i++) trigrams.push((at(i - 2) << 16) | (at(i - 1) << 8) | at(i));
  return [...new Set(trigrams)];
}

/** The trigrams a needle's segment must contain, lowercased; empty when the needle is too short to filter. */
export function needleTrigrams(needle: string): number[] {
  return trigramsOf(needle, true);
}

/** The needle's trigrams as they are (for a case-sensitive needle). */
export function exactTrigrams(needle: string): number[] {
  return trigramsOf(needle, false);
}

function isPowerOfTwo(n: number): boolean {
  return n >= 8 && (n & (n - 1)) === 0;
}

/**
 * A bloom's bit array and its format (1: no format byte); null when the bytes are no bloom of
 * ours. `bits` is the bloom itself (its format byte, if any, lies past `bitMask`): no view is
 * made, since this runs for every segment a query considers.
 */
function bitsOf(bloom: Uint8Array): { bits: Uint8Array; bitMask: number; exact: boolean; tokens: boolean; names: boolean; format: number } | null {
  const length = bloom.length;
  if (isPowerOfTwo(length)) return { bits: bloom, bitMask: length * 8 - 1, exact: false, tokens: false, names: false, format: 1 };
  const format = bloom[length - 1]!;
  if (isPowerOfTwo(length - 1) && (format === EXACT_FORMAT || format === TOKEN_FORMAT || format === NAMES_FORMAT)) {
    return { bits: bloom, bitMask: (length - 1) * 8 - 1, exact: true, tokens: format >= TOKEN_FORMAT, names: format === NAMES_FORMAT, format };
  }
  return null;
}

/** The exact trigrams a line holds when it spells a character as a JSON `\u00XX` escape. */
const ESCAPE_TRIGRAMS = exactTrigrams('\\u00');

/**
 * The exact trigrams of every dot-separated part of a field name that is 3 bytes or longer
 * (each is written in a line that has the field: see format 4 above); empty when no part is
 * long enough to tell.
 */
export function nameTrigrams(name: string): number[] {
  const trigrams = new Set<number>();
  for (const part of name.split('.')) for (const trigram of exactTrigrams(part)) trigrams.add(trigram);
  return [...trigrams];
}

/** False only when no line of the bloom's segment has a field of this name (format 4; `trigrams` from nameTrigrams); older formats cannot tell. */
export function bloomMayHoldName(bloom: Uint8Array, trigrams: readonly number[]): boolean {
  const parsed = bitsOf(bloom);
  if (parsed === null || !parsed.names || trigrams.length === 0) return true;
  return holdsAll(parsed.bits, parsed.bitMask, trigrams, true) || holdsAll(parsed.bits, parsed.bitMask, ESCAPE_TRIGRAMS, true);
}

/** False only when the bloom's segment holds no such whole token (format 3); older formats cannot tell. */
export function bloomMayHoldToken(bloom: Uint8Array, hash: number): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || !parsed.tokens || hasBits(parsed.bits, parsed.bitMask, hash, true, parsed.names ? TOKEN_PROBES : PROBES);
}

function holdsAll(bits: Uint8Array, bitMask: number, trigrams: readonly number[], mixed: boolean): boolean {
  for (const trigram of trigrams) if (!hasBits(bits, bitMask, trigram, mixed)) return false;
  return true;
}

/** False only when no text of the bloom's segment can contain a needle with these (lowercased) trigrams. */
export function bloomMayContain(bloom: Uint8Array, trigrams: readonly number[]): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || holdsAll(parsed.bits, parsed.bitMask, trigrams, parsed.exact);
}

/** The same for a case-sensitive needle, given both its exact and its lowercased trigrams. */
export function bloomMayContainExact(bloom: Uint8Array, exact: readonly number[], lowered: readonly number[]): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || holdsAll(parsed.bits, parsed.bitMask, parsed.exact ? exact : lowered, parsed.exact);
}

/**
 * The bloom folded to 1/`factor` of its bits (the parts OR-ed together). With power-of-two
 * sizes, bit i of the full array is bit i mod (size/factor) of the folded one, so the result
 * is itself a bloom of the same format, with no false negatives and more false positives.
 */
export function foldBloom(bloom: Uint8Array, factor: number): Uint8Array {
  const parsed = bitsOf(bloom);
  if (parsed === null) return Uint8Array.from(bloom);
  const bytes = (parsed.bitMask + 1) / 8;
  if (bytes < 8 * factor) return Uint8Array.from(bloom);
  const size = bytes / factor;
  const folded = new Uint8Array(size + (parsed.exact ? 1 : 0));
  // Four bytes at a time (sizes are powers of two of at least 8 bytes): a fold is done for
  // every segment Daniel stores, on its main thread, and bytewise it took ~0.4 s of it for the
  // bench's 10M lines. A bloom at an unaligned offset (a view into a larger buffer) is copied
  // first (into a Uint8Array of its own: a Buffer's slice would be another view).
  const bits = parsed.bits.byteOffset % 4 === 0 ? parsed.bits : new Uint8Array(bytes);
  if (bits !== parsed.bits) bits.set(parsed.bits.subarray(0, bytes));
  const words = size / 4;
  const from = new Uint32Array(bits.buffer, bits.byteOffset, bytes / 4);
  const into = new Uint32Array(folded.buffer, 0, words);
  for (let part = 0; part < factor; part++) {
    const base = part * words;
    for (let i = 0; i < words; i++) into[i]! |= from[base + i]!;
  }
  if (parsed.exact) folded[size] = parsed.format;
  return folded;
}
