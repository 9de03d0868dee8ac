/**
 * Henrik with many files under one glob (bench/many-files-bench.ts): time until every file's
 * lines are stored by a real Daniel, CPU while watching them idle, open descriptors.
 * 10,000 files in a full run, 2,000 in a quick one.
 */
import type { BenchContext } from '../lib/context.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { manyFilesBench } from '../many-files-bench.js';

export async function manyFilesWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const files = ctx.config.quick ? 2000 : 10_000;
  // As long as the safety-net walk's interval, quick or not: a shorter window mostly misses the walk and flatters the figure.
  const idleSeconds = 30;
  const report = new WorkloadReport('many-files', `Henrik: ${files.toLocaleString('en-US')} files under one glob`);
  report.command(`node --import tsx bench/many-files-bench.ts --files ${files} --idle-seconds ${idleSeconds}`);
  const r = await manyFilesBench(files, idleSeconds);
  report.add({ name: 'first line stored', unit: 's', value: r.firstLineSeconds });
  report.add({ name: "every file's lines stored", unit: 's', value: r.allFilesSeconds, target: files === 10_000 ? { text: '<= 30 s', pass: r.allFilesSeconds <= 30 } : undefined });
  report.add({ name: 'CPU watching the idle files', unit: '%', value: r.idleCpuPercent, target: { text: '<= 5% of a core', pass: r.idleCpuPercent <= 5 } });
  report.add({
    name: 'open descriptors, at most',
    unit: 'count',
    value: r.maxOpenFds,
    target: { text: 'bounded: 512 tailed files + 16 opening + the process own', pass: r.maxOpenFds - r.baselineFds <= 512 + 16 + 32 },
  });
  report.note(`descriptors before the agent started: ${r.baselineFds}; when idle: ${r.idleOpenFds}`);
  return report.finish();
}
