/**
 * Henrik's journald input (bench/journal-bench.ts): entries per second and per CPU-second
 * shipped by `henrik --once --journal-dir` (the one-file build) over a journal written by
 * systemd-journal-remote, beside `journalctl -o export > /dev/null` over the same journal;
 * and the idle resident memory of the one-file agent watching 100 files and the journal.
 * 1,000,000 entries in a full run, 100,000 in a quick one.
 */
import type { BenchContext } from '../lib/context.js';
import { ratio, WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { journalBench, journalBenchMissing } from '../journal-bench.js';

export async function journalWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const entries = ctx.config.quick ? 100_000 : 1_000_000;
  const report = new WorkloadReport('journal', `Henrik: the systemd journal (${entries.toLocaleString('en-US')} entries)`);
  const missing = journalBenchMissing();
  if (missing !== undefined) return report.finish(missing);
  report.command(`node --import tsx bench/journal-bench.ts --entries ${entries} --idle-seconds 10`);
  const r = await journalBench(entries, 10, ctx.log);
  const rate = r.henrik.shipped / r.henrik.seconds;
  const baseRate = r.entries / r.journalctl.seconds;
  const perCpu = r.henrik.shipped / r.henrik.cpuSeconds;
  const basePerCpu = r.entries / r.journalctl.cpuSeconds;
  const command = 'journalctl --directory DIR -o export > /dev/null';
  report.add({
    name: 'entries/s',
    unit: 'lines/s',
    value: rate,
    baselines: [{ name: 'journalctl -o export', value: baseRate, unit: 'lines/s', ratio: ratio(rate, baseRate), command }],
    target: { text: '>= 0.5x journalctl -o export', pass: rate >= 0.5 * baseRate },
  });
  report.add({
    name: 'entries per CPU-second',
    unit: 'lines/s',
    value: perCpu,
    baselines: [{ name: 'journalctl -o export', value: basePerCpu, unit: 'lines/s', ratio: ratio(perCpu, basePerCpu), command }],
    note: "Henrik's CPU includes the journalctl it reads through",
  });
  report.add({
    name: 'idle RSS, one-file agent watching 100 files and the journal',
    unit: 'MiB',
    value: r.idle.henrikRssMiB,
    target: { text: '<= 60 MiB', pass: r.idle.henrikRssMiB <= 60 },
    note: `its journalctl beside it: ${r.idle.journalctlRssMiB.toFixed(1)} MiB`,
  });
  report.note(`journal on disk: ${(r.journalBytes / 1048576).toFixed(0)} MiB in ${entries} entries; ${r.henrik.shipped} shipped`);
  return report.finish();
}
