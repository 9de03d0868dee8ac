/**
 * V8 settings for the agent's process, set before any other module runs (bin/henrik.ts
 * imports this first). `node henrik.mjs` takes no flags, so they are set from inside, and
 * only ones V8 reads at run time. Measured on the one-file agent idle over 100 files and the
 * journal, and at full speed (docs/agent.md, the journal's figures):
 *
 * - The young generation keeps its first size (growth factor 1) instead of doubling to
 *   4-8 MiB on the startup's allocations, which it then kept while idle.
 * - A function is compiled by TurboFan after 8 times V8's interrupt budget of bytecode:
 *   fewer of the startup's and the polling's lukewarm functions are compiled (each compile
 *   leaves memory in the compiler threads' malloc arenas, about 2 MiB in all), while a busy
 *   agent runs its hot functions through that much bytecode in milliseconds.
 * - Feedback vectors too are allocated after 8 times V8's budget: functions the startup
 *   runs a few times never get one (about 0.3 MiB).
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--interrupt-budget=540672');
setFlagsFromString('--interrupt-budget-for-feedback-allocation=7520');
setFlagsFromString('--interrupt-budget-factor-for-feedback-allocation=64');
