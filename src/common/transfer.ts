/**
 * Bytes handed to a worker thread, or back, go in a transfer list rather than being copied by
 * postMessage; a transferred ArrayBuffer is detached from its sender, so it must hold exactly
 * these bytes and belong to nobody else (not Node's shared pool of small buffers, not a
 * caller's buffer).
 */

/** `parts` end to end, copied into an ArrayBuffer of their own. */
export function transferableCopy(parts: readonly Uint8Array[]): ArrayBuffer {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out.buffer;
}
