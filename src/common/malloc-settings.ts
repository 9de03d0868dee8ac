/**
 * Daniel keeps the memory an ingest request frees for the next one (native/memory.c):
 * glibc's malloc then serves chunks under `MMAP_THRESHOLD` from its heap and gives the heap's
 * free top back to the kernel only past `TRIM_THRESHOLD`. Its defaults unmapped and faulted in
 * again the buffers of about a MiB that every ingest request allocates and frees
 * (docs/architecture.md, "Memory a request frees").
 *
 * Where the addon was not built (no compiler) or the C library is not glibc, nothing
 * changes. `DANIEL_MALLOC_DEFAULTS=1` keeps glibc's defaults (to compare the two).
 */
import { createRequire } from 'node:module';

/** Chunks under this come from the heap, not a mapping of their own: the default request body limit. */
const MMAP_THRESHOLD = 8 * 1024 * 1024;
/** The heap's free top is given back past this: at most this much freed memory stays resident. */
const TRIM_THRESHOLD = 32 * 1024 * 1024;

interface NativeMemory {
  keepFreed(mmapThreshold: number, trimThreshold: number): boolean;
}

/** Applies the settings to the process unless `keepDefaults`; true when they took effect. */
export function keepFreedMemory(keepDefaults: boolean): boolean {
  if (keepDefaults) return false;
  let memory: NativeMemory;
  try {
    memory = createRequire(import.meta.url)('../../native/build/Release/memory.node') as NativeMemory;
  } catch {
    return false;
  }
  return memory.keepFreed(MMAP_THRESHOLD, TRIM_THRESHOLD);
}
