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
 *
 * Format 5 is format 4 in two arrays sized by what they hold, no longer one power of two sized
 * by every token with its repeats: the trigrams' (TRIGRAM_BITS a distinct trigram, 3 probes),
 * then the tokens' (TOKEN_BITS a distinct token, TOKEN_PROBES probes), a probe's bit taken
 * modulo its array's bits; then the trigram array's bytes (4, little-endian) and the format
 * byte. Both arrays are multiples of 16 bytes, so the whole is never a power of two, nor one
 * more (formats 1 to 4). A token that begins with a date or a time of day (`2026-01-05`,
 * `00:44:52`: `isTimeToken`) is left out: most lines hold one of their own, it was half of a
 * segment's distinct tokens on the bench's data, and a time is asked by the time range; a
 * probe for one (`tokenProbe`) is never made, so its trigrams decide. Folding (`foldBloom`)
 * folds the trigram array and keeps the token array whole: a token, looked up alone, keeps
 * its precision in the summaries held in memory.
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
/**
 * Format 5's bits a distinct trigram and a distinct token. 3 probes at 10 bits set about a
 * quarter of the trigram array (as formats 2 to 4 did at their sizes), so a trigram is admitted
 * falsely about once in 60; 8 probes at 16 bits admit an absent token about once in 1,750 (a
 * trace id's lookup over 4,000 segments decodes 2 or 3 that lack it).
 */
const TRIGRAM_BITS = 10;
const TOKEN_BITS = 16;
const EXACT_FORMAT = 2;
const TOKEN_FORMAT = 3;
const NAMES_FORMAT = 4;
const SPLIT_FORMAT = 5;
/** The format buildTrigramBloom writes: 2 (trigrams, exact where it differs), 3 (and tokens), 4 (and names: 8 token probes), 5 (4 in two arrays). */
export type BloomFormat = 2 | 3 | 4 | 5;
/** The format segments are written with. */
export const BLOOM_FORMAT: BloomFormat = SPLIT_FORMAT;
/** Format 5's bytes after its arrays: the trigram array's length (4), the format (1). */
const SPLIT_TRAILER = 5;
/** Format 5's arrays are multiples of this many bytes (a fold by 2 leaves whole 8-byte words). */
const SPLIT_ALIGN = 16;
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
 * Probe i of a trigram is at h1 + i * h2 (double hashing). Formats 2 and later mix the
 * trigram first (hasProbes). Format 1 multiplied it only, so the low bits that index a small
 * bloom never depended on the trigram's first byte: trigrams differing only there (`Err`,
 * `err`) shared their bits. This probes format 1.
 */
function hasUnmixedBits(bloom: Uint8Array, bitMask: number, trigram: number): boolean {
  const h1 = Math.imul(trigram, 0x9e3779b1);
  const h2 = Math.imul(trigram ^ (trigram >>> 13), 0x85ebca77) | 1;
  for (let i = 0; i < PROBES; i++) {
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

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 57;
}

/**
 * Whether the token `bytes[start, end)` begins with a date (`dddd-dd-dd`) or a time of day
 * (`dd:dd:dd`): format 5 leaves such tokens out (a query asks a time by its range).
 */
export function isTimeToken(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 8 || !isDigit(bytes[start]) || !isDigit(bytes[start + 1])) return false;
  const third = bytes[start + 2];
  if (third === 58) return isDigit(bytes[start + 3]) && isDigit(bytes[start + 4]) && bytes[start + 5] === 58 && isDigit(bytes[start + 6]) && isDigit(bytes[start + 7]);
  return (
    end - start >= 10 &&
    isDigit(third) &&
    isDigit(bytes[start + 3]) &&
    bytes[start + 4] === 45 &&
    isDigit(bytes[start + 5]) &&
    isDigit(bytes[start + 6]) &&
    bytes[start + 7] === 45 &&
    isDigit(bytes[start + 8]) &&
    isDigit(bytes[start + 9])
  );
}

/**
 * The hash a token probe looks for; undefined when `token` is not one whole token of at least
 * TOKEN_MIN bytes, or begins with a date or a time (format 5 does not hold those: their
 * trigrams decide, in every format).
 */
export function tokenProbe(token: string): number | undefined {
  const bytes = Buffer.from(token);
  if (bytes.length < TOKEN_MIN) return undefined;
  for (const byte of bytes) if (!isTokenByte(byte)) return undefined;
  if (isTimeToken(bytes, 0, bytes.length)) return undefined;
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
  build(text: Uint8Array, format: BloomFormat): Buffer;
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
 * Builds the bloom of every trigram of `text`: lowercased, and exact where that differs; from
 * format 3, also of its long whole tokens; from format 4, of a text that also holds the names
 * of its lines' given fields; format 5 in two arrays (see above).
 */
export function buildTrigramBloom(text: Uint8Array, format: BloomFormat = EXACT_FORMAT): Buffer {
  return nativeBloom !== undefined ? nativeBloom.build(text, format) : buildTrigramBloomJs(text, format);
}

/** buildTrigramBloom in JavaScript: where the C builder is not built, and what it is tested against. */
export function buildTrigramBloomJs(text: Uint8Array, format: BloomFormat = EXACT_FORMAT): Buffer {
  const withTokens = format >= TOKEN_FORMAT;
  const split = format === SPLIT_FORMAT;
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
        if (i - start >= TOKEN_MIN && withTokens && !(split && isTimeToken(text, start, i))) {
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
    if (start >= 0 && length - start >= TOKEN_MIN && withTokens && !(split && isTimeToken(text, start, length))) {
      if (tokenCount + 1 > tokenHashes.length) tokenHashes = grow(tokenHashes);
      tokenHashes[tokenCount++] = (hash ^ 0x5bd1e995) | 0;
    }
  }
  if (split) return splitBloom(found, count, tokenCount > 0 ? distinctTokens(tokenCount) : 0);
  // Sized by every token, repeats included (as blooms always were): only the bits are set once.
  let bytes = 8;
  while (bytes * 8 < (count + tokenCount) * BITS_PER_TRIGRAM) bytes *= 2;
  const bloom = Buffer.alloc(bytes + 1);
  bloom[bytes] = format;
  const bitMask = bytes * 8 - 1;
  const distinctCount = tokenCount > 0 ? distinctTokens(tokenCount) : 0;
  const tokenProbes = format >= NAMES_FORMAT ? TOKEN_PROBES : PROBES;
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

/** Bytes of a format 5 array for `count` entries at `bitsEach` bits: a multiple of SPLIT_ALIGN, none for no entry. */
function splitArrayBytes(count: number, bitsEach: number): number {
  return Math.ceil((count * bitsEach) / 8 / SPLIT_ALIGN) * SPLIT_ALIGN;
}

/** Sets the `probes` bits of `value` in format 5's array of `size` bits at bit `base`, each taken modulo the array (hasProbes reads them). */
function setModuloProbes(bloom: Uint8Array, base: number, size: number, value: number, probes: number): void {
  const h1 = mix(value);
  const h2 = mix(value ^ 0x9e3779b9) | 1;
  for (let p = 0; p < probes; p++) {
    const bit = base + (((h1 + Math.imul(p, h2)) & 0x7fffffff) % size);
    bloom[bit >>> 3]! |= 1 << (bit & 7);
  }
}

/** Format 5 from the `count` distinct trigrams of `found` and the first `tokens` distinct hashes of tokenHashes; clears `seenTrigrams` behind it. */
function splitBloom(found: Int32Array, count: number, tokens: number): Buffer {
  const trigramBytes = Math.max(SPLIT_ALIGN, splitArrayBytes(count, TRIGRAM_BITS));
  const tokenBytes = splitArrayBytes(tokens, TOKEN_BITS);
  const bloom = Buffer.alloc(trigramBytes + tokenBytes + SPLIT_TRAILER);
  bloom.writeUInt32LE(trigramBytes, trigramBytes + tokenBytes);
  bloom[bloom.length - 1] = SPLIT_FORMAT;
  // Small integers (| 0), so the modulo is an integer one rather than a floating-point fmod.
  const trigramSize = (trigramBytes * 8) | 0;
  const hashes = tokenHashes;
  for (let i = 0; i < tokens; i++) setModuloProbes(bloom, trigramSize, (tokenBytes * 8) | 0, hashes[i]!, TOKEN_PROBES);
  const seen = seenTrigrams;
  for (let i = 0; i < count; i++) {
    const trigram = found[i]!;
    setModuloProbes(bloom, 0, trigramSize, trigram, PROBES);
    seen[trigram >>> 3] = 0;
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
if (nativeBloom === undefined) for (let i = 0; i < 16; i++) buildTrigramBloomJs(Buffer.from('Warm-up: {"trace_id":"4bf92f3577b34da6","level":"INFO","msg":"GET /api/v1/items"} ok=1 \u00e9\n'), BLOOM_FORMAT);

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
 * A bloom's arrays and its format (1: no format byte); null when the bytes are no bloom of ours.
 * Formats 1 to 4 are one power-of-two array that trigrams and tokens share (probes masked);
 * format 5 has the trigrams' array at bit 0 and the tokens' after it (probes taken modulo
 * each). `bits` is the bloom itself: no view is made, since this runs for every segment a
 * query considers.
 */
interface BloomLayout {
  bits: Uint8Array;
  format: number;
  exact: boolean;
  tokens: boolean;
  names: boolean;
  /** The trigram array's size in bits (from bit 0). */
  trigramBits: number;
  /** Where the token array starts, and its size, in bits. */
  tokenBase: number;
  tokenBits: number;
  /** Whether probes are taken modulo the array (format 5) rather than masked (a power of two). */
  modulo: boolean;
}

function bitsOf(bloom: Uint8Array): BloomLayout | null {
  const length = bloom.length;
  if (isPowerOfTwo(length)) return { bits: bloom, format: 1, exact: false, tokens: false, names: false, trigramBits: length * 8, tokenBase: 0, tokenBits: length * 8, modulo: false };
  const format = bloom[length - 1]!;
  if (isPowerOfTwo(length - 1) && (format === EXACT_FORMAT || format === TOKEN_FORMAT || format === NAMES_FORMAT)) {
    const size = (length - 1) * 8;
    return { bits: bloom, format, exact: true, tokens: format >= TOKEN_FORMAT, names: format === NAMES_FORMAT, trigramBits: size, tokenBase: 0, tokenBits: size, modulo: false };
  }
  if (format === SPLIT_FORMAT && length >= SPLIT_TRAILER + 4) {
    const at = length - SPLIT_TRAILER;
    const trigramBytes = (bloom[at]! | (bloom[at + 1]! << 8) | (bloom[at + 2]! << 16) | (bloom[at + 3]! << 24)) >>> 0;
    if (trigramBytes < 4 || trigramBytes > at) return null;
    return { bits: bloom, format, exact: true, tokens: true, names: true, trigramBits: trigramBytes * 8, tokenBase: trigramBytes * 8, tokenBits: (at - trigramBytes) * 8, modulo: true };
  }
  return null;
}

/** Whether the `count` probes of `value` are all set in the array of `size` bits at `base` (format 5: modulo the size; older: masked, base 0). */
function hasProbes(bits: Uint8Array, base: number, size: number, modulo: boolean, value: number, count: number): boolean {
  if (size === 0) return false;
  const h1 = mix(value);
  const h2 = mix(value ^ 0x9e3779b9) | 1;
  const mask = size - 1;
  for (let i = 0; i < count; i++) {
    const bit = modulo ? base + (((h1 + Math.imul(i, h2)) & 0x7fffffff) % size) : (h1 + Math.imul(i, h2)) & mask;
    if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/**
 * The bloom's arrays as views, for tools that look into stores (bench/store-anatomy.ts): format
 * 5's trigram and token arrays; formats 1 to 4's one shared array as `trigrams`, no `tokens`.
 */
export function bloomArrays(bloom: Uint8Array): { format: number; trigrams: Uint8Array; tokens: Uint8Array } | null {
  const layout = bitsOf(bloom);
  if (layout === null) return null;
  const trigrams = bloom.subarray(0, layout.trigramBits / 8);
  const tokens = layout.modulo ? bloom.subarray(layout.tokenBase / 8, (layout.tokenBase + layout.tokenBits) / 8) : bloom.subarray(0, 0);
  return { format: layout.format, trigrams, tokens };
}

/**
 * Whether a fold of this bloom (foldBloom) keeps its token array whole (format 5): a folded
 * summary then admits a token exactly as the full bloom does.
 */
export function foldKeepsTokens(bloom: Uint8Array): boolean {
  return bitsOf(bloom)?.modulo === true;
}

/** A trigram's probes in the bloom's trigram array (format 1 hashes it unmixed). */
function holdsTrigram(layout: BloomLayout, trigram: number): boolean {
  if (layout.format === 1) return hasUnmixedBits(layout.bits, layout.trigramBits - 1, trigram);
  return hasProbes(layout.bits, 0, layout.trigramBits, layout.modulo, trigram, PROBES);
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
  return holdsAll(parsed, trigrams) || holdsAll(parsed, ESCAPE_TRIGRAMS);
}

/** False only when the bloom's segment holds no such whole token (format 3); older formats cannot tell. */
export function bloomMayHoldToken(bloom: Uint8Array, hash: number): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || !parsed.tokens || hasProbes(parsed.bits, parsed.tokenBase, parsed.tokenBits, parsed.modulo, hash, parsed.names ? TOKEN_PROBES : PROBES);
}

function holdsAll(layout: BloomLayout, trigrams: readonly number[]): boolean {
  for (const trigram of trigrams) if (!holdsTrigram(layout, trigram)) return false;
  return true;
}

/** False only when no text of the bloom's segment can contain a needle with these (lowercased) trigrams. */
export function bloomMayContain(bloom: Uint8Array, trigrams: readonly number[]): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || holdsAll(parsed, trigrams);
}

/** The same for a case-sensitive needle, given both its exact and its lowercased trigrams. */
export function bloomMayContainExact(bloom: Uint8Array, exact: readonly number[], lowered: readonly number[]): boolean {
  const parsed = bitsOf(bloom);
  return parsed === null || holdsAll(parsed, parsed.exact ? exact : lowered);
}

/**
 * The bloom folded to 1/`factor` of its trigram bits (the parts OR-ed together). With
 * power-of-two sizes, bit i of the full array is bit i mod (size/factor) of the folded one (and
 * with format 5's modulo, h mod size mod (size/factor) is h mod (size/factor)), so the result
 * is itself a bloom of the same format, with no false negatives and more false positives.
 * Formats 1 to 4 fold their one array; format 5 its trigram array, its token array kept whole
 * (see above). A bloom too small to fold, or whose trigram array would not stay whole 4-byte
 * words, is answered as it is (copied).
 */
export function foldBloom(bloom: Uint8Array, factor: number): Uint8Array {
  const parsed = bitsOf(bloom);
  if (parsed === null) return Uint8Array.from(bloom);
  const bytes = parsed.trigramBits / 8;
  if (bytes < 8 * factor || bytes % (4 * factor) !== 0) return Uint8Array.from(bloom);
  const size = bytes / factor;
  const kept = parsed.modulo ? bloom.length - bytes : parsed.exact ? 1 : 0;
  const folded = new Uint8Array(size + kept);
  // Four bytes at a time (the array is whole 4-byte words): a fold is done for every segment
  // Daniel stores, on its main thread, and bytewise it took ~0.4 s of it for the bench's 10M
  // lines. A bloom at an unaligned offset (a view into a larger buffer) is copied first (into
  // a Uint8Array of its own: a Buffer's slice would be another view).
  const bits = parsed.bits.byteOffset % 4 === 0 ? parsed.bits : new Uint8Array(bytes);
  if (bits !== parsed.bits) bits.set(parsed.bits.subarray(0, bytes));
  const words = size / 4;
  const from = new Uint32Array(bits.buffer, bits.byteOffset, bytes / 4);
  const into = new Uint32Array(folded.buffer, 0, words);
  for (let part = 0; part < factor; part++) {
    const base = part * words;
    for (let i = 0; i < words; i++) into[i]! |= from[base + i]!;
  }
  // What follows the array: format 5's token array and trailer (its trigram bytes now `size`), or 2 to 4's format byte.
  if (kept > 0) folded.set(bloom.subarray(bytes), size);
  if (parsed.modulo) {
    const at = folded.length - SPLIT_TRAILER;
    folded[at] = size & 0xff;
    folded[at + 1] = (size >>> 8) & 0xff;
    folded[at + 2] = (size >>> 16) & 0xff;
    folded[at + 3] = size >>> 24;
  }
  return folded;
}
