/**
 * `--profile`: Daniel and Henrik run with `node --cpu-prof`, and each workload's notes get
 * the top functions by self time, so a missed target comes with the profile that explains
 * it. The .cpuprofile files stay in bench/.work/profiles/ for Chrome DevTools.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, workDir } from './paths.js';

let enabled = false;
const profileRoot = path.join(workDir, 'profiles');

export function enableProfiling(): void {
  enabled = true;
}

/** Node flags that write a CPU profile for `name` on exit (none unless --profile). */
export function profileArgs(name: string): string[] {
  if (!enabled) return [];
  const dir = path.join(profileRoot, name.replace(/[^\w.-]+/g, '-'));
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url ? url.replace(/^file:\/\//, '').replace(`${repoRoot}/`, '').replace(/^.*node_modules\//, '') : '';
  return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
}

/** Top functions by self time over every profile written for `name`, as note lines. */
export function summarizeProfiles(name: string, top = 10): string[] {
  if (!enabled) return [];
  const dir = path.join(profileRoot, name.replace(/[^\w.-]+/g, '-'));
  if (!existsSync(dir)) return [];
  const selfMs = new Map<string, number>();
  let totalMs = 0;
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node || node.callFrame.functionName === '(idle)') return;
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      const key = frameName(node);
      selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
      totalMs += ms;
    });
  }
  if (totalMs === 0) return [];
  const rows = [...selfMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `profile of ${name} (${files.length} file${files.length === 1 ? '' : 's'} in bench/.work/profiles/, ${(totalMs / 1000).toFixed(1)} s on CPU), top self time: ` +
      rows.map(([key, ms]) => `${key} ${((ms / totalMs) * 100).toFixed(1)}%`).join('; '),
  ];
}
