/**
 * What a workload reports: figures, each beside the baselines measured in the same run and
 * its target with pass/miss. A figure that could not be measured says why instead of
 * carrying a number.
 */
import { repoRoot } from './paths.js';

export interface Baseline {
  name: string;
  value?: number;
  unit: string;
  /** Why there is no value. */
  notMeasured?: string;
  /**
   * How many times better the figure is than this baseline (> 1: better): ours/theirs for
   * rates, theirs/ours for times and memory.
   */
  ratio?: number;
  /** The command that measured it. */
  command?: string;
}

export type Outcome = 'pass' | 'miss' | 'n/a';

export interface Figure {
  name: string;
  /** For timings: the p50. */
  value?: number;
  /** For timings: the p99 (same unit). */
  p99?: number;
  unit: string;
  notMeasured?: string;
  baselines: Baseline[];
  target?: string;
  outcome: Outcome;
  note?: string;
}

export interface WorkloadResult {
  id: string;
  title: string;
  figures: Figure[];
  /** Set when the workload as a whole was skipped. */
  notMeasured?: string;
  notes: string[];
  /** The commands that produced the figures, as run. */
  commands: string[];
  seconds: number;
}

export interface FigureInput {
  name: string;
  value?: number;
  p99?: number;
  unit: string;
  notMeasured?: string;
  baselines?: Baseline[];
  /** Target text and whether the measured value meets it; omit when there is no target. */
  target?: { text: string; pass: boolean | undefined };
  note?: string;
}

export function figure(input: FigureInput): Figure {
  const measured = input.value !== undefined && Number.isFinite(input.value);
  let outcome: Outcome = 'n/a';
  if (input.target && measured && input.target.pass !== undefined) outcome = input.target.pass ? 'pass' : 'miss';
  return {
    name: input.name,
    value: measured ? input.value : undefined,
    p99: measured ? input.p99 : undefined,
    unit: input.unit,
    notMeasured: measured ? undefined : (input.notMeasured ?? 'no value'),
    baselines: input.baselines ?? [],
    target: input.target?.text,
    outcome,
    note: input.note,
  };
}

export function notMeasuredFigure(name: string, unit: string, why: string, target?: string): Figure {
  return { name, unit, notMeasured: why, baselines: [], target, outcome: 'n/a' };
}

/** Ratio a/b, undefined when either side is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return a / b;
}

/** A workload builds its result through this, so failures land as notes, not crashes. */
export class WorkloadReport {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  readonly commands: string[] = [];
  private readonly started = performance.now();

  constructor(
    readonly id: string,
    readonly title: string,
  ) {}

  add(input: FigureInput): Figure {
    const result = figure(input);
    this.figures.push(result);
    return result;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Records a command as run, with paths shown relative to the repo root. */
  command(text: string): void {
    const relative = text.split(`${repoRoot}/`).join('');
    if (!this.commands.includes(relative)) this.commands.push(relative);
  }

  finish(notMeasured?: string): WorkloadResult {
    return {
      id: this.id,
      title: this.title,
      figures: this.figures,
      notMeasured,
      notes: this.notes,
      commands: this.commands,
      seconds: (performance.now() - this.started) / 1000,
    };
  }
}
