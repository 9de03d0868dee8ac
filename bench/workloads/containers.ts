/**
 * Henrik on container log files (bench/containers-bench.ts): MiB of CRI and Docker json-file
 * data read per CPU-second, beside the same lines as plain files. 200 MiB of text in a full
 * run, 20 MiB in a quick one.
 */
import { containersBench } from '../containers-bench.js';
import type { BenchContext } from '../lib/context.js';
import { WorkloadReport, type WorkloadResult } from '../lib/results.js';

export async function containersWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const mib = ctx.config.quick ? 20 : 200;
  const report = new WorkloadReport('containers', 'Henrik: container log files (CRI, Docker json-file) beside plain files');
  report.command(`node --import tsx bench/containers-bench.ts --mib ${mib}`);
  const r = await containersBench(mib, (m) => ctx.log(`  containers: ${m}`));
  report.add({ name: 'plain files', unit: 'MiB/CPU-s', value: r.plain.mibPerCpuS });
  report.add({ name: 'CRI files', unit: 'MiB/CPU-s', value: r.cri.mibPerCpuS, target: { text: '>= 0.7x plain', pass: r.criRatio >= 0.7 } });
  report.add({ name: 'Docker json-file files', unit: 'MiB/CPU-s', value: r.docker.mibPerCpuS, target: { text: '>= 0.7x plain', pass: r.dockerRatio >= 0.7 } });
  report.note(`CRI ${r.criRatio}x and Docker ${r.dockerRatio}x plain per MiB of file; per line: plain ${r.plain.linesPerCpuS}, CRI ${r.cri.linesPerCpuS}, Docker ${r.docker.linesPerCpuS} lines/CPU-s`);
  report.note(`the same ${r.plain.lines} lines: plain ${r.plain.fileMiB} MiB, CRI ${r.cri.fileMiB} MiB, Docker ${r.docker.fileMiB} MiB on disk; 1 line in 100 in two partial pieces`);
  return report.finish();
}
