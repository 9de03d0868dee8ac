/**
 * A process that counts through a CountPool worker, then either closes the pool or leaves the
 * worker idle; either way it must exit on its own. Run by count-pool-exit.test.ts.
 */
import { CountPool } from '../../src/query/count-pool.js';
import { encodeSegment } from '../../src/segment/codec.js';

const lines = Array.from({ length: 200 }, (_, i) => ({ offset: i * 20, end: i * 20 + 20, timestamp: 1_700_000_000_000_000_000n + BigInt(i), line: i % 4 === 0 ? `ERROR ${i}` : `ok ${i}`, cut: false, seq: i + 1 }));
const pool = new CountPool({ workers: 1, minBytes: 0 });
await pool.ready();
const batcher = pool.batcher<string>([{ kind: 'substring', text: 'ERROR', caseInsensitive: false }]);
if (!batcher.offer(encodeSegment(lines).data, true, 4000, 'only')) throw new Error('the running worker refused the job');
const counted = await batcher.finish(() => {
  throw new Error('counted on the main thread: the worker failed');
});
console.log(JSON.stringify({ counted, handedOut: pool.handedOut }));
if (process.argv[2] === 'close') await pool.close();
