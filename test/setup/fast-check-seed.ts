/**
 * Property tests draw from a fixed seed unless `FC_SEED` says otherwise, so a CI failure is
 * the same failure on any machine: `FC_SEED=random npm test` (or a number) explores further.
 * A failure prints the seed and path that reproduce it.
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED ?? '20261124';
if (seed !== 'random') fc.configureGlobal({ seed: Number(seed) });
