/**
 * Trigram bloom filters: one per segment, over the segment's text with ASCII letters
 * lowercased byte by byte. A substring needle can only occur in a segment whose bloom holds
 * every trigram of the needle (lowercased the same way), so one bloom serves case-sensitive
 * search and, for all-ASCII segments, case-insensitive search. False positives cost a
 * decompression; there are no false negatives.
 *
 * Format: the bit array itself (its length a power of two, at least 8 bytes); 3 probes.
 */

const PROBES = 3;
const BITS_PER_TRIGRAM = 8;
/** One bit per possible trigram, reused to find the distinct ones without a Set. */
const seenTrigrams = new Uint8Array(1 << 21);

function lowerAscii(byte: number): number {
  return byte >= 65 && byte <= 90 ? byte | 32 : byte;
}

function probeHashes(trigram: number): [number, number] {
  const h1 = Math.imul(trigram, 0x9e3779b1);
  const h2 = Math.imul(trigram ^ (trigram >>> 13), 0x85ebca77) | 1;
  return [h1, h2];
}

function setBits(bloom: Uint8Array, bitMask: number, trigram: number): void {
  const [h1, h2] = probeHashes(trigram);
  for (let i = 0; i < PROBES; i++) {
    const bit = (h1 + Math.imul(i, h2)) & bitMask;
    bloom[bit >>> 3]! |= 1 << (bit & 7);
  }
}

function hasBits(bloom: Uint8Array, bitMask: number, trigram: number): boolean {
  const [h1, h2] = probeHashes(trigram);
  for (let i = 0; i < PROBES; i++) {
    const bit = (h1 + Math.imul(i, h2)) & bitMask;
    if ((bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** Builds the bloom of every trigram of `text` (ASCII letters lowercased). */
export function buildTrigramBloom(text: Uint8Array): Buffer {
  const distinct: number[] = [];
  if (text.length >= 3) {
    let trigram = (lowerAscii(text[0]!) << 8) | lowerAscii(text[1]!);
    for (let i = 2; i < text.length; i++) {
      trigram = ((trigram << 8) | lowerAscii(text[i]!)) & 0xffffff;
      const byte = trigram >>> 3;
      const bit = 1 << (trigram & 7);
      if ((seenTrigrams[byte]! & bit) === 0) {
        seenTrigrams[byte]! |= bit;
        distinct.push(trigram);
      }
    }
  }
  let bytes = 8;
  while (bytes * 8 < distinct.length * BITS_PER_TRIGRAM) bytes *= 2;
  const bloom = Buffer.alloc(bytes);
  const bitMask = bytes * 8 - 1;
  for (const trigram of distinct) {
    setBits(bloom, bitMask, trigram);
    seenTrigrams[trigram >>> 3] = 0; // clears the whole byte: every trigram sharing it is cleared in this loop too
  }
  return bloom;
}

/** The trigrams a needle's segment must contain; empty when the needle is too short to filter. */
export function needleTrigrams(needle: string): number[] {
  const bytes = Buffer.from(needle);
  const trigrams: number[] = [];
  for (let i = 2; i < bytes.length; i++) {
    trigrams.push((lowerAscii(bytes[i - 2]!) << 16) | (lowerAscii(bytes[i - 1]!) << 8) | lowerAscii(bytes[i]!));
  }
  return [...new Set(trigrams)];
}

/** False only when no text of the bloom's segment can contain a needle with these trigrams. */
export function bloomMayContain(bloom: Uint8Array, trigrams: readonly number[]): boolean {
  if (bloom.length < 8 || (bloom.length & (bloom.length - 1)) !== 0) return true; // not ours: cannot rule anything out
  const bitMask = bloom.length * 8 - 1;
  for (const trigram of trigrams) {
    if (!hasBits(bloom, bitMask, trigram)) return false;
  }
  return true;
}
