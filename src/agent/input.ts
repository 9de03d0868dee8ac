/**
 * Inputs that are not tailed files (the journal, stdin) plug into the agent through these
 * two sides: the input reads and batches; the agent seals its batches into the spool (with
 * the input's position, saved in the checkpoints once Daniel acknowledged the record) and
 * tells it when there is room again or nothing is on its way.
 */
import type { Batch } from './batcher.js';

/** What the agent offers an input. */
export interface InputHost {
  /** Compresses and spools `batch`; `position` is where the input resumes after its last line. */
  seal(batch: Batch, key: string, position: string | undefined): void;
  /** Room for another batch (spool under its limit, little in flight): else reading pauses. */
  hasRoom(): boolean;
  /** Nothing is being compressed, spooled or shipped: a lone line may leave at once. */
  idle(): boolean;
  log(message: string): void;
}

export interface AgentInput {
  /** Names the input's position in the checkpoints (`journal`, `journal-dir:/path`). */
  readonly key: string;
  /** What `watching=` says of it. */
  readonly description: string;
  /** Reads until stop(). */
  start(): void;
  /** Reads everything there is now, then resolves: true when it was read without error. */
  readOnce(): Promise<boolean>;
  /** Stops reading; `flush`: the lines read so far leave as a batch (else they are dropped, e.g. kill -9 in tests). */
  stop(flush: boolean): Promise<void>;
  /** The spool or the pipeline made room: paused reading may go on. */
  roomMade(): void;
  /** Nothing is on its way to Daniel: lines held while the pipeline was busy may leave. */
  idle(): void;
  /** Lines read so far (journal entries, stdin lines), for progress. */
  readonly linesRead: number;
  /** Resolves when the input has no more to read (stdin at its end); never for the journal. */
  readonly ended: Promise<void>;
}
