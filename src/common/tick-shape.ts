/**
 * Keeps the shape of Node's `process.nextTick` entries alive for the life of the process.
 *
 * Every `process.nextTick` (and so every stream write, read and end, every HTTP response)
 * builds an object literal with computed keys (`{ [async_id_symbol]: ..., callback, args }`).
 * V8 reaches that literal's hidden class by transitions from the plain object's, and holds
 * those transitions weakly: when a full garbage collection finds no such object alive (the
 * tick queue empty, as it is between events), it drops them. Measured on Node 20 in a started
 * Daniel, after that first full collection the literal's site never went back to its compiled
 * fast path: each `nextTick` then defined its properties through the runtime, 250-270 ns
 * against 45-55 ns (the same process with one such object kept, or any process before that
 * collection; `bench/tick-shape-bench.ts`). Holding one entry keeps its hidden class, and with
 * it the transitions to it, alive.
 */
import { executionAsyncResource } from 'node:async_hooks';

let kept: object | undefined;

/** Keeps one nextTick entry (inside its callback, the current async resource is the entry). */
export function keepTickShape(): void {
  if (kept !== undefined) return;
  process.nextTick(() => {
    kept ??= executionAsyncResource();
  });
}

/** The entry kept, for tests: undefined until the tick scheduled by keepTickShape has run. */
export function keptTickEntry(): object | undefined {
  return kept;
}
