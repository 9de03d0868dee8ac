/** The run's settings (full or quick) and the state workloads hand on to each other. */
import type { DataManifest } from './datagen.js';
import type { Server } from './system.js';

export interface BenchConfig {
  quick: boolean;
  /** The PRNG seed of the generated data (documented in docs/benchmarks.md). */
  seed: number;
  totalLines: number;
  hosts: string[];
  /** Timed repetitions of each query; p50/p99 over them. */
  queryRepeats: number;
  /** Repetitions of the slow ones: counting every match, and each grep/rg baseline. */
  slowRepeats: number;
  /** Canary: lines per second and how long it writes. */
  canaryRate: number;
  canaryMs: number;
  /** autocannon: connections, seconds per run, and runs per server (alternating, best kept). */
  httpConnections: number;
  httpSeconds: number;
  httpRounds: number;
  /** Lines shipped to the DynamoDB store. */
  dynamoLines: number;
  /** Workload ids to run; all when empty. */
  only: string[];
  /** Write docs/benchmarks.md even from a quick or partial run. */
  forceDocs: boolean;
  /** Run Daniel and Henrik with --cpu-prof and summarise the profiles in the notes. */
  profile: boolean;
}

export const WORKLOAD_IDS = ['agent', 'ingest', 'queries', 'latency', 'http', 'storage', 'dynamodb', 'load', 'many-files', 'journal', 'syslog', 'inputs', 'alerts'] as const;

export const DEFAULT_SEED = 20_261_124;

export function benchConfig(argv: string[]): BenchConfig {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const only = (value('--only') ?? '').split(',').filter(Boolean);
  for (const id of only) if (!(WORKLOAD_IDS as readonly string[]).includes(id)) throw new Error(`--only: unknown workload ${id} (one of ${WORKLOAD_IDS.join(', ')})`);
  return {
    quick,
    seed: Number(value('--seed') ?? DEFAULT_SEED),
    totalLines: Number(value('--lines') ?? (quick ? 200_000 : 10_000_000)),
    hosts: ['web-1', 'db-1'],
    queryRepeats: quick ? 20 : 50,
    slowRepeats: quick ? 3 : 5,
    canaryRate: quick ? 200 : 1000,
    canaryMs: quick ? 5_000 : 30_000,
    httpConnections: 10,
    httpSeconds: quick ? 2 : 4,
    httpRounds: quick ? 3 : 5,
    dynamoLines: quick ? 10_000 : 100_000,
    only,
    forceDocs: argv.includes('--docs'),
    profile: argv.includes('--profile'),
  };
}

export interface BenchContext {
  config: BenchConfig;
  data: DataManifest;
  /** The admin token every Daniel of the run is started with. */
  token: string;
  log: (message: string) => void;
  /** Daniel with the ingested data (SQLite), started by the ingest workload. */
  daniel?: Server & { dataDir: string; ingestedLines: number };
  /** Why there is no loaded Daniel, for the workloads that need one. */
  danielMissing?: string;
}
