/**
 * Byte sizes as people write them, read the same way by Henrik and Daniel: a bare number is
 * bytes; `KB`/`MB`/`GB` are decimal (1000), `KiB`/`MiB`/`GiB` binary (1024), and the single
 * letters `k`/`m`/`g` binary as nginx reads them. So `10MB` is 10,000,000 bytes everywhere.
 */
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i;
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  k: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
  g: 1024 ** 3,
};

/** A positive whole number of bytes, or undefined when `value` is not a size. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = SIZE.exec(value.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}
